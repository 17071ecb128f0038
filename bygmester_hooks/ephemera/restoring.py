"""Restoring a set: find it, stream it in, check it, and only then put it in place.

The download runs in a thread that hashes and counts the archive's bytes
while the unpacker writes files from them, so the checksum costs no second
pass; nothing reaches the workspace until the checksum and the size matched.
A miss, an unreachable server or a refused archive never fails the build:
it goes on from pristine, and the reason is printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bygmester_hooks.ephemera.paths import STAGING_PREFIX, PathRefused, member_path
from bygmester_hooks.ephemera.transfer import Missing, Server, TransferError
from bygmester_hooks.ephemera.unpacking import Refused, Unpacker

_END = object()


@dataclass(frozen=True)
class Outcome:
    """What a restore did, as one line for the build's console."""

    restored: bool
    line: str


class _Download(threading.Thread):
    """Chunks of the archive into a bounded queue, hashed and counted on the way."""

    def __init__(self, server: Server, archive_id: int, limit: int):
        super().__init__(daemon=True, name="ephemera-download")
        self.server, self.archive_id, self.limit = server, archive_id, limit
        self.chunks: queue.Queue = queue.Queue(maxsize=16)
        self.digest = hashlib.sha256()
        self.size = 0
        self.error: str = ""
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            for chunk in self.server.download(self.archive_id):
                self.size += len(chunk)
                if self.size > self.limit:
                    self.error = f"the archive is longer than the {self.limit} bytes recorded"
                    break
                self.digest.update(chunk)
                if not self._put(chunk):
                    return
        except TransferError as exc:
            self.error = str(exc)
        self._put(_END)

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.chunks.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while (item := self.chunks.get()) is not _END:
            yield item
        if self.error:
            raise Refused(self.error)


def restore(
    server: Server, workspace: Path, name: str, key: str, fallback: bool, paths: list[str]
) -> Outcome:
    """Unfurl the newest archive of (name, key) over the workspace, if there is a good one.

    Only ``paths``, the set's paths as this build names them, are ever written:
    an archive the server says holds any other path is refused whole.
    """
    try:
        found = server.find(name, key, fallback)
    except Missing:
        return Outcome(False, f"no ephemera for {name} (key {key[:12]}…); building from pristine")
    except TransferError as exc:
        return Outcome(False, f"{name} not restored: {exc}; building from pristine")
    archive_id = int(found.get("id", 0))
    made = found.get("made_by") or "an earlier build"
    try:
        wanted = sorted({member_path(p) for p in paths})
        recorded = sorted({member_path(str(p)) for p in found.get("paths") or ()})
        if recorded != wanted:
            raise Refused(
                f"it holds {', '.join(recorded) or 'no paths'}, the set names {', '.join(wanted)}"
            )
        files = unfurl(server, workspace, found, wanted)
    except (Refused, PathRefused) as exc:
        server.report(archive_id, ok=False, why=str(exc))
        return Outcome(
            False, f"{name}: archive #{archive_id} ({made}) refused: {exc}; building from pristine"
        )
    except OSError as exc:  # a workspace this build may not write: the build still goes on
        why = f"cannot write the workspace ({exc.strerror or exc})"
        server.report(archive_id, ok=False, why=why)
        return Outcome(False, f"{name} not restored: {why}; building from pristine")
    except Exception as exc:  # noqa: BLE001 (a cache never fails a build, whatever went wrong)
        why = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
        server.report(archive_id, ok=False, why=why)
        return Outcome(False, f"{name} not restored: {why}; building from pristine")
    server.report(archive_id, ok=True)
    exact = "" if found.get("exact", True) else ", from an older key"
    return Outcome(
        True,
        f"restored {name} (key {str(found.get('key', ''))[:12]}…{exact}): {files} files, "
        f"{found.get('unpacked_size')} bytes, sha256 {found.get('sha256')}, made by {made}",
    )


def unfurl(server: Server, workspace: Path, found: dict, paths: list[str]) -> int:
    """Stream, unpack into staging, check, move into place; the number of files.

    Raises:
        Refused: the archive broke a rule, or its checksum or size is not the recorded one.
    """
    root = workspace.resolve()
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}restore-", dir=root))
    download = _Download(server, int(found["id"]), int(found.get("size", 0)))
    try:
        unpacker = Unpacker(staging, paths, int(found.get("unpacked_size", 0)))
        recorded = str(found.get("sha256", ""))
        chunks = iter(download)
        download.start()
        try:
            unpacker.run(chunks)
        except Refused as exc:
            # Bytes damaged in store or in transit show first as a bad gzip or tar
            # header; the checksum says what really happened, so finish reading and ask it.
            for _ in _quietly(chunks):
                pass
            if not download.error and download.digest.hexdigest() != recorded:
                raise Refused(_mismatch(download.digest.hexdigest(), recorded)) from exc
            raise
        finally:
            download.stop.set()
            download.join(timeout=30)
        if download.error:
            raise Refused(download.error)
        if download.digest.hexdigest() != recorded:
            raise Refused(_mismatch(download.digest.hexdigest(), recorded))
        if download.size != int(found.get("size", -1)):
            raise Refused(f"{download.size} bytes arrived, the server recorded {found['size']}")
        place(root, staging, paths)
        return unpacker.files
    finally:
        shutil.rmtree(staging, onerror=_writable_then_retry)


def _mismatch(computed: str, recorded: str) -> str:
    return f"its SHA-256 is {computed}, the server recorded {recorded}: damaged in store or transit"


def _quietly(chunks):
    try:
        yield from chunks
    except Refused:
        return


def check_destination(root: Path, path: str) -> None:
    """Refuse a path whose directory leads out of the workspace, or into what no set may name.

    The directory is resolved for real: a link the workspace holds (``out ->
    bygmester``) must not turn a harmless name into the job type's branch.
    """
    parent = os.path.realpath((root / path).parent)
    if parent != str(root) and not parent.startswith(str(root) + os.sep):
        raise Refused(f"{path}: its directory leads out of the workspace")
    real = os.path.relpath(os.path.join(parent, os.path.basename(path)), root)
    try:
        member_path(real)
    except PathRefused as exc:
        raise Refused(f"{path}: its directory leads to {real} ({exc})") from exc


def place(root: Path, staging: Path, paths: list[str]) -> None:
    """Swap the staged paths in, all of them or none.

    Every destination is checked first; the workspace's own copies are then
    moved aside (renames within the workspace's file system), the staged ones
    renamed in, and on any failure everything is put back as it was.
    """
    for path in paths:
        check_destination(root, path)
    aside = staging / ".before"
    aside.mkdir()
    moved: list[tuple[Path, Path]] = []
    placed: list[tuple[Path, Path]] = []
    try:
        for number, path in enumerate(paths):
            destination = root / path
            if os.path.lexists(destination):
                kept = aside / str(number)
                os.rename(destination, kept)
                moved.append((destination, kept))
        for path in paths:
            staged, destination = staging / path, root / path
            if os.path.lexists(staged):
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staged, destination)
                placed.append((destination, staged))
    except OSError:
        for destination, staged in reversed(placed):
            with contextlib.suppress(OSError):
                os.rename(destination, staged)
        for destination, kept in reversed(moved):
            with contextlib.suppress(OSError):
                os.rename(kept, destination)
        raise


def _writable_then_retry(function, path, _exc_info) -> None:
    """rmtree's error handler: a read-only directory (a Go module cache) is made writable."""
    with contextlib.suppress(OSError):
        os.chmod(os.path.dirname(path), stat.S_IRWXU)
        function(path)
