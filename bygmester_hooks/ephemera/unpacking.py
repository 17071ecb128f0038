"""Unpacking an archive safely into a fresh staging directory, as it streams in.

Each member is checked before anything is written for it: no absolute path,
no ``..``, nothing outside the set's paths, no device file or FIFO, no hard
link to anything but an earlier file of the same archive, nothing twice, and
never more bytes than the server announced. Symbolic links are made last,
after every file, so nothing can be written through one; each is then
resolved for real and refused if it leads out of the staging directory. The
caller moves the staged paths into place only when the whole archive's
checksum matched, so a refused or corrupted archive leaves the workspace as
it was.

Members are read with :class:`tarfile.TarInfo` (the standard library's
header parser) and written with plain ``os`` calls: ``tarfile``'s own
extraction resolves every path on disk and is about twice as slow as GNU
``tar`` on trees of many small files (see benchmarks/ephemera_restore.py).
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from bygmester_hooks.ephemera.paths import PathRefused, member_path, within

BLOCK = 512
CHUNK = 1 << 20
PAX_LIMIT = 1 << 20  # a pax header bigger than this is not one we wrote
TAIL_LIMIT = 20 * BLOCK  # tar pads its end to a record of 10,240 bytes
MAX_DEPTH = 64  # path components of a member: deeper is not a cache, it is an attack
MAX_NAME = 1024  # characters of a member's path


# Regular files as tar writes them; CONTTYPE and sparse files are not ours.
FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)


def kind_of(info: tarfile.TarInfo) -> str:
    return "directory" if info.isdir() else "link" if info.issym() or info.islnk() else "member"


class Refused(ValueError):
    """The archive is not one to unpack; the message says which member and why."""


class _Gunzip(io.RawIOBase):
    """The decompressed bytes of a stream of gzip-compressed chunks, a bounded piece at a time.

    Each call inflates at most ``CHUNK`` bytes (the rest of the input waits in
    ``unconsumed_tail``): a megabyte of deflated zeros would otherwise become a
    gigabyte in memory before a single header is looked at.
    """

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks = chunks
        self.inflate = zlib.decompressobj(wbits=31)
        self.pending = memoryview(b"")
        self.input = b""

    def readable(self) -> bool:
        return True

    def _end(self) -> int:
        if not self.inflate.eof:
            raise Refused("the gzip stream ends early")
        return 0

    def readinto(self, buffer) -> int:
        while not self.pending:
            if not self.input:
                chunk = next(self.chunks, None)
                if chunk is None:
                    return self._end()
                self.input = chunk
            try:
                out = self.inflate.decompress(self.input, CHUNK)
            except zlib.error as exc:
                raise Refused(f"not a gzip-compressed archive ({exc})") from exc
            self.input = self.inflate.unconsumed_tail
            if self.inflate.eof and self.inflate.unused_data:
                raise Refused("data after the end of the gzip stream")
            self.pending = memoryview(out)
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count


class _Reader:
    """Exact reads from the decompressed archive; a short read is a truncated archive."""

    def __init__(self, chunks: Iterator[bytes]):
        self.stream = io.BufferedReader(_Gunzip(chunks), CHUNK)

    def exactly(self, count: int) -> bytes:
        if count < 0:  # read(-1) would read everything left, into memory
            raise Refused("a negative length in a member header")
        data = self.stream.read(count)
        if len(data) != count:
            raise Refused("the archive ends in the middle of a member")
        return data

    def skip(self, count: int) -> None:
        while count:
            count -= len(self.exactly(min(count, CHUNK)))


def _pax(data: bytes) -> dict[str, str]:
    """The records of a pax extended header (``"<len> key=value\\n"`` each)."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position] != 0:
        space = data.find(b" ", position)
        if space < 0:
            raise Refused("a malformed pax header")
        try:
            length = int(data[position:space])
        except ValueError as exc:
            raise Refused("a malformed pax header") from exc
        record = data[space + 1 : position + length - 1]
        key, _, value = record.partition(b"=")
        if length <= 0 or not key:
            raise Refused("a malformed pax header")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        position += length
    return records


class Unpacker:
    """One archive into ``staging``, for the set's ``paths``, at most ``limit`` bytes."""

    def __init__(self, staging: Path, paths: list[str], limit: int):
        self.staging = staging
        self.paths = paths
        self.limit = limit
        self.written = 0
        self.files = 0
        self.seen: set[str] = set()
        self.regular: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.link_names: set[str] = set()
        self.times: list[tuple[str, int]] = []

    def run(self, chunks: Iterator[bytes]) -> None:
        """Read and write every member.

        Raises:
            Refused: the first member that breaks a rule, or a malformed archive.
        """
        reader = _Reader(chunks)
        overrides: dict[str, str] = {}
        while True:
            header = reader.stream.read(BLOCK)
            if len(header) < BLOCK:
                raise Refused("the archive ends without its end-of-archive blocks")
            if header == bytes(BLOCK):
                self.rest_is_zeros(reader)
                break
            try:
                info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise Refused(f"a malformed member header ({exc})") from exc
            if info.size < 0:
                raise Refused(f"{info.name}: a negative size")
            padding = -info.size % BLOCK
            if info.type in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                if info.size > PAX_LIMIT:
                    raise Refused("an extended header too large to be ours")
                data = reader.exactly(info.size)
                reader.skip(padding)
                if info.type == tarfile.XHDTYPE:
                    overrides.update(_pax(data))
                elif info.type == tarfile.GNUTYPE_LONGNAME:
                    overrides["path"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                else:
                    overrides["linkpath"] = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                continue
            if info.type == tarfile.XGLTYPE:
                raise Refused("a global pax header (not one we write)")
            name = overrides.get("path", info.name)
            if "linkpath" in overrides:
                info.linkname = overrides["linkpath"]
            if "size" in overrides:
                if not overrides["size"].isascii() or not overrides["size"].isdigit():
                    raise Refused(f"{name}: a malformed size ({overrides['size'][:20]!r})")
                info.size = int(overrides["size"])
                padding = -info.size % BLOCK
            overrides = {}
            name = self.checked_name(name, info)
            self.count(name, BLOCK)  # every member costs a block, as in the archive: no inode bomb
            if info.size and info.type not in FILE_TYPES:
                raise Refused(f"{name}: a {kind_of(info)} that carries data (tar would skip it)")
            try:
                self.member(reader, info, name)
            except OSError as exc:
                raise Refused(f"{name}: cannot be written ({exc.strerror})") from exc
            reader.skip(padding)
        try:
            self.finish()
        except OSError as exc:
            raise Refused(f"a link cannot be made ({exc.strerror})") from exc

    def count(self, name: str, size: int) -> None:
        """Add to what the archive unpacks to; past the announced size, refuse it."""
        self.written += size
        if self.written > self.limit:
            raise Refused(f"{name}: more bytes than the {self.limit} announced")

    @staticmethod
    def rest_is_zeros(reader: _Reader) -> None:
        """After the end-of-archive block only tar's padding may follow: zeros, a record at most."""
        rest = reader.stream.read(TAIL_LIMIT + 1)
        if len(rest) > TAIL_LIMIT or rest.count(0) != len(rest):
            raise Refused("data after the end of the archive")

    def checked_name(self, raw: str, info: tarfile.TarInfo) -> str:
        """The member's clean relative name, or Refused."""
        if raw.startswith("/"):
            raise Refused(f"{raw}: an absolute path")
        try:
            name = member_path(raw.rstrip("/") or raw)
        except PathRefused as exc:
            raise Refused(str(exc)) from exc
        if name.count("/") >= MAX_DEPTH or len(name) > MAX_NAME:
            raise Refused(f"{name[:80]}…: deeper or longer than a cache path may be")
        if not within(name, self.paths):
            raise Refused(f"{name}: not under the set's paths ({', '.join(self.paths)})")
        if name in self.seen and not info.isdir():
            raise Refused(f"{name}: in the archive twice")
        parts = name.split("/")
        for end in range(1, len(parts)):
            if "/".join(parts[:end]) in self.link_names:
                raise Refused(f"{name}: written through the link {'/'.join(parts[:end])}")
        return name

    def member(self, reader: _Reader, info: tarfile.TarInfo, name: str) -> None:
        """Write one member (symbolic links are only noted, for :meth:`finish`)."""
        target = self.staging / name
        self.seen.add(name)
        if info.isdir():
            target.mkdir(parents=True, exist_ok=True)
            self.times.append((name, int(info.mtime)))
            return
        if info.isdev() or info.isfifo():
            raise Refused(f"{name}: a device file or FIFO")
        target.parent.mkdir(parents=True, exist_ok=True)
        if info.issym():
            if os.path.isabs(info.linkname):
                raise Refused(f"{name}: a link to {info.linkname}, an absolute path")
            self.links.append((name, info.linkname))
            self.link_names.add(name)
            return
        if info.islnk():
            self.hard_link(name, info.linkname, target)
            return
        if info.type not in FILE_TYPES:
            raise Refused(f"{name}: a member of type {info.type!r}, not a file, directory or link")
        self.count(name, info.size)
        self.write_file(reader, target, info)
        self.regular.add(name)
        self.files += 1

    def write_file(self, reader: _Reader, target: Path, info: tarfile.TarInfo) -> None:
        """The member's bytes into a new file (never through a link: none exist yet)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        handle = os.open(target, flags, (info.mode & 0o755) | 0o600)
        try:
            remaining = info.size
            while remaining:
                data = reader.exactly(min(remaining, CHUNK))
                os.write(handle, data)
                remaining -= len(data)
        finally:
            os.close(handle)
        os.utime(target, (info.mtime, info.mtime), follow_symlinks=False)

    def hard_link(self, name: str, link: str, target: Path) -> None:
        """A hard link to an earlier file of this archive, and to nothing else."""
        try:
            source = member_path(link)
        except PathRefused as exc:
            raise Refused(f"{name}: a hard link to {link}, out of the workspace") from exc
        if source not in self.regular:
            raise Refused(f"{name}: a hard link to {link}, not a file earlier in the archive")
        os.link(self.staging / source, target, follow_symlinks=False)
        self.files += 1

    def finish(self) -> None:
        """Make the symbolic links, refuse any that leads out, then set directory times."""
        root = os.path.realpath(self.staging)
        for name, link in self.links:
            if os.path.isabs(link):
                raise Refused(f"{name}: a link to {link}, an absolute path")
            os.symlink(link, self.staging / name)
            self.files += 1
        for name, link in self.links:
            real = os.path.realpath(self.staging / name)
            if real != root and not real.startswith(root + os.sep):
                raise Refused(f"{name}: a link to {link}, out of the workspace")
        for name, mtime in reversed(self.times):
            path = self.staging / name
            if stat.S_ISDIR(os.lstat(path).st_mode):
                os.utime(path, (mtime, mtime), follow_symlinks=False)
