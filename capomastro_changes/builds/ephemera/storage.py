"""Where archives are kept: the ``ephemera`` alias of ``STORAGES``, streamed in and out.

A host that names no such alias gets a FileSystemStorage under the data
directory. An upload is written to a temporary file beside the storage's
own files while it is hashed and counted, then moved in (a rename on the same
disk): no archive is ever held in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import FileSystemStorage, InvalidStorageError, storages

from capomastro_changes.conf import settings

ALIAS = "ephemera"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20


class UploadRefused(ValueError):
    """The upload is larger than allowed, shorter than announced, or not what it says."""


class UploadTooLarge(UploadRefused):
    """The upload, or what it unpacks to, is more than the dependency may keep (HTTP 413)."""


def archive_storage():
    """The storage for archives."""
    try:
        return storages[ALIAS]
    except InvalidStorageError:
        base = Path(settings.DATA_DIR or ".capomastro-changes") / "ephemera"
        return FileSystemStorage(location=str(base), file_permissions_mode=0o600)


class _Staged(File):
    """A finished temporary file that a FileSystemStorage may move instead of copying."""

    def temporary_file_path(self) -> str:
        return self.name


@dataclass(frozen=True)
class Stored:
    """An archive in storage: its name there, its size and SHA-256."""

    name: str
    size: int
    sha256: str


def store(stream, length: int, limit: int, dependency_id: int, expected_sha: str) -> Stored:
    """Copy ``length`` bytes from ``stream`` into storage, hashing them on the way.

    Raises:
        UploadRefused: more than ``limit`` bytes, fewer than announced, or a
            different SHA-256 than the builder computed.
    """
    if length > limit:
        raise UploadTooLarge(f"{length} bytes is more than the {limit} this dependency may keep")
    storage = archive_storage()
    where = getattr(storage, "location", None)
    if where:
        os.makedirs(where, mode=0o700, exist_ok=True)
    digest = hashlib.sha256()
    received = 0
    handle = tempfile.NamedTemporaryFile(prefix="upload-", dir=where or None, delete=False)
    try:
        with handle:
            while received < length:
                chunk = stream.read(min(CHUNK, length - received))
                if not chunk:
                    break
                if not received and not chunk.startswith(GZIP_MAGIC[: len(chunk)]):
                    raise UploadRefused("not a gzip-compressed archive")
                received += len(chunk)
                digest.update(chunk)
                handle.write(chunk)
        if received != length:
            raise UploadRefused(f"{received} bytes arrived of the {length} announced")
        sha = digest.hexdigest()
        if expected_sha and sha != expected_sha:
            raise UploadRefused(f"the archive's SHA-256 is {sha}, the builder said {expected_sha}")
        name = f"{dependency_id}/{uuid.uuid4().hex}.tar.gz"
        with open(handle.name, "rb") as done:
            saved = storage.save(name, _Staged(done, name=handle.name))
        return Stored(saved, received, sha)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


def delete(name: str) -> None:
    """Remove an archive from storage; a missing one is already gone."""
    if name:
        archive_storage().delete(name)
