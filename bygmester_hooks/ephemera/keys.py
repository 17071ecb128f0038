"""What names a set of ephemera: its name, its paths, its key files' hashes, the bygmester
revision.

Two builds restore each other's archives only when all four agree, so a
changed lock file or a new bygmester branch revision starts from pristine,
and an archive made for other paths is never taken for this set.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEY = re.compile(r"[0-9a-f]{64}")
VERSION = b"capomastro-ephemera-key 1\0"


class KeyFileError(ValueError):
    """A key file cannot be read, or a name is not one we accept."""


def check_name(name: str) -> str:
    """``name`` if it is a set name (letters, digits, ``._-``, at most 64), else ValueError."""
    if not NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a set name: letters, digits, '.', '_' and '-', 64 at most, "
            "starting with a letter or digit"
        )
    return name


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bygmester_revision(workspace: Path) -> str:
    """The job type's bygmester revision: ``BYGMESTER_REVISION``, else the branch's own.

    The build template branches bygmester into ``<workspace>/bygmester``; its
    revision id comes from ``brz revision-info``. "" when neither can be had.
    """
    given = os.environ.get("BYGMESTER_REVISION", "").strip()
    if given:
        return given
    branch = workspace / "bygmester"
    if not (branch / ".bzr").is_dir():
        return ""
    try:
        done = subprocess.run(
            ["brz", "revision-info", "-d", str(branch)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    words = done.stdout.split()
    return words[-1] if done.returncode == 0 and words else ""


def make_key(
    name: str, paths: Sequence[str], key_files: Sequence[Path], workspace: Path, revision: str
) -> str:
    """The set's key: 64 hex characters.

    Raises:
        KeyFileError: a key file cannot be read.
    """
    digest = hashlib.sha256(VERSION)
    digest.update(name.encode() + b"\0" + revision.encode() + b"\0")
    digest.update("\0".join(sorted(set(paths))).encode() + b"\0\0")
    for given in key_files:
        path = given if given.is_absolute() else workspace / given
        try:
            content = file_digest(path)
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {given}: {exc.strerror}") from exc
        digest.update(str(given).encode() + b"\0" + content.encode() + b"\0")
    return digest.hexdigest()
