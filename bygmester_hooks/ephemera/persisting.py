"""Persisting a set: pack the chosen paths, send them, and say what the server staged.

The server keeps the upload staged: it becomes restorable only when this
build's final notification says SUCCESS.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bygmester_hooks.ephemera.packing import pack
from bygmester_hooks.ephemera.paths import STAGING_PREFIX, member_path
from bygmester_hooks.ephemera.transfer import Server


def persist(
    server: Server, workspace: Path, name: str, key: str, paths: list[str], max_size: int
) -> str:
    """Pack and upload; one line saying what was stored.

    Raises:
        PathRefused, TooLarge: the set cannot be packed.
        TransferError: the server could not be reached or refused it.
    """
    paths = sorted({member_path(p) for p in paths})
    handle, where = tempfile.mkstemp(
        prefix=f"{STAGING_PREFIX}persist-", suffix=".tar.gz", dir=workspace
    )
    os.close(handle)
    archive = Path(where)
    try:
        packed = pack(workspace, paths, archive, max_size)
        headers = {
            "X-Ephemera-Unpacked-Size": str(packed.unpacked_size),
            "X-Ephemera-SHA256": packed.sha256,
            "X-Ephemera-Paths": json.dumps(paths),
        }
        stored = server.upload(name, key, archive, headers)
    finally:
        archive.unlink(missing_ok=True)
    skipped = f"; left out: {', '.join(packed.skipped)}" if packed.skipped else ""
    return (
        f"staged {name} (key {key[:12]}…) as archive #{stored.get('id')}: {packed.files} "
        f"files, {packed.unpacked_size} bytes, {packed.size} bytes packed, sha256 "
        f"{packed.sha256}; restorable once this build succeeds{skipped}"
    )
