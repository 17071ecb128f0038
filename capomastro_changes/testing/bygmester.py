"""A job type's bygmester branch for probes through Jenkins, made for tests and the demo.

The branch is a real bzr branch (the probe job fetches it with ``brz branch``)
holding probe scripts and the ``lxc-launch`` launcher that ``bygmester_hooks``
ships, as a job type's branch does. ``BYGMESTER_PROBE`` is a probe script that
is just ``bygmester-probe``: the protocol implemented with the in-process
readers, so its answers can be compared with the in-process probe's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

BYGMESTER_PROBE = '#!/bin/sh\nexec bygmester-probe "$@"\n'


def launcher_text() -> str:
    """The ``lxc-launch`` script of the installed ``bygmester_hooks``."""
    return resources.files("bygmester_hooks").joinpath("scripts", "lxc-launch").read_text()


def make_bygmester_branch(path: str | os.PathLike, scripts: Mapping[str, str]) -> Path:
    """A bzr branch at ``path`` with ``lxc-launch`` and the executable ``scripts`` committed.

    Args:
        path: Where to make it.
        scripts: File name to text, e.g. ``{"probe": BYGMESTER_PROBE}``.
    """
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    from breezy.controldir import ControlDir, format_registry

    root = Path(path)
    tree = ControlDir.create_standalone_workingtree(
        str(root), format_registry.make_controldir("2a")
    )
    files = {"lxc-launch": launcher_text(), **scripts}
    for name, text in files.items():
        (root / name).write_text(text)
        (root / name).chmod(0o755)
    with tree.lock_write():
        tree.add(list(files))
        tree.commit("bygmester probe scripts", committer="Test <test@example.com>")
    return root


def path_with_this_python() -> str:
    """``PATH`` with this interpreter's bin directory first: ``bygmester-probe`` and ``brz``."""
    bin_dir = str(Path(sys.executable).parent)
    return os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
