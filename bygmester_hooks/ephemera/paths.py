"""Which paths a set may name: relative to the workspace, never out of it."""

from __future__ import annotations

import posixpath


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
    return clean


def within(name: str, paths: list[str]) -> bool:
    """Whether ``name`` is one of ``paths`` or lies under one of them."""
    return any(name == p or name.startswith(p + "/") for p in paths)
