"""Which paths a set may name: relative to the workspace, never out of it, never the
job type's ``bygmester`` branch (the template runs its launcher from there) and never a
restore's own staging directory."""

from __future__ import annotations

import posixpath

RESERVED = "bygmester"  # the job type's branch, fresh in every build
STAGING_PREFIX = ".ephemera-"  # where restore and persist work


class PathRefused(ValueError):
    """A path that is absolute, climbs out of the workspace, or names nothing."""


def member_path(given: str) -> str:
    """``given`` as a clean relative path, or PathRefused.

    ``./a//b/`` becomes ``a/b``; ``/etc``, ``../x`` and ``a/../../x`` are refused.
    """
    if "\0" in given:
        raise PathRefused(f"{given!r}: a NUL byte in a path")
    if given.startswith("/"):
        raise PathRefused(f"{given}: an absolute path (give it relative to the workspace)")
    clean = posixpath.normpath(given)
    if clean in ("", ".") or clean == ".." or clean.startswith("../"):
        raise PathRefused(f"{given}: out of the workspace")
    if any(part == ".." for part in given.split("/")):
        raise PathRefused(f"{given}: '..' in a path")
    first = clean.split("/", 1)[0]
    if first == RESERVED or first.startswith(STAGING_PREFIX):
        raise PathRefused(f"{given}: {first} is not the builds' to keep")
    return clean


def within(name: str, paths: list[str]) -> bool:
    """Whether ``name`` is one of ``paths`` or lies under one of them."""
    return any(name == p or name.startswith(p + "/") for p in paths)
