"""Packing a set: chosen paths of the workspace into one gzip-compressed tar archive.

gzip because every builder's Python has it (the builder installs nothing but
this package) and GNU tar reads it, so an archive can be looked at by hand;
level 1 because a persist runs after every successful build and most caches
(crates, ccache, wheels) hold compressed files already.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bygmester_hooks.ephemera.paths import PathRefused, member_path

LEVEL = 1
BLOCK = 512


class TooLarge(ValueError):
    """The set holds more than the size it may have."""


@dataclass(frozen=True)
class Packed:
    """An archive made: where it is, its size and SHA-256, what it holds unpacked."""

    archive: Path
    size: int
    sha256: str
    unpacked_size: int
    files: int
    skipped: tuple[str, ...]


class _Counting:
    """A file wrapper that hashes and counts what goes through it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def pack(workspace: Path, paths: list[str], archive: Path, max_size: int) -> Packed:
    """Write ``paths`` (relative to ``workspace``) into ``archive``.

    Links that lead out of the workspace, device files and FIFOs are left
    out (and named in ``skipped``): restore would refuse the whole archive.

    Raises:
        PathRefused: a path is absolute, climbs out, or does not exist.
        TooLarge: the files add up to more than ``max_size`` bytes.
    """
    root = workspace.resolve()
    wanted = [member_path(p) for p in paths]
    for name in wanted:
        if not os.path.lexists(root / name):
            raise PathRefused(f"{name}: no such file or directory in the workspace")
        inside(root, name)
    totals = {"bytes": 0, "files": 0}
    skipped: list[str] = []

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        inside(root, os.path.dirname(info.name) or ".")  # again for each member: links may move
        why = leaves_out(root, info)
        if why:
            skipped.append(f"{info.name} ({why})")
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode &= 0o755
        # As restore counts: a block for every member, and a file's bytes.
        totals["bytes"] += BLOCK + (info.size if info.isreg() else 0)
        totals["files"] += 0 if info.isdir() else 1  # as restore counts: files and links
        if totals["bytes"] > max_size:
            raise TooLarge(f"more than {max_size} bytes in {', '.join(wanted)}")
        return info

    with open(archive, "wb") as raw:
        counted = _Counting(raw)
        with gzip.GzipFile(fileobj=counted, mode="wb", compresslevel=LEVEL, mtime=0) as zipped:
            with tarfile.open(fileobj=zipped, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for name in wanted:
                    tar.add(root / name, arcname=name, recursive=True, filter=keep)
    return Packed(
        archive=archive,
        size=counted.size,
        sha256=counted.digest.hexdigest(),
        unpacked_size=totals["bytes"],
        files=totals["files"],
        skipped=tuple(skipped),
    )


def inside(root: Path, name: str) -> None:
    """Refuse a path whose real place is out of the workspace, or what no set may name."""
    real = os.path.realpath(root / name)
    if real != str(root) and not real.startswith(str(root) + os.sep):
        raise PathRefused(f"{name}: leads out of the workspace (to {real}) through a link")
    if real != str(root):
        member_path(os.path.relpath(real, root))  # not into bygmester/ through a link either


def leaves_out(root: Path, info: tarfile.TarInfo) -> str:
    """Why a member is not kept ("" when it is)."""
    if info.isdev() or info.isfifo():
        return "device file or FIFO"
    if info.issym():
        target = os.path.normpath(os.path.join(os.path.dirname(info.name), info.linkname))
        if os.path.isabs(info.linkname) or target == ".." or target.startswith("../"):
            return f"link to {info.linkname}, out of the workspace"
    return ""
