"""Fixtures for the VCS reader tests: repositories served by real loopback servers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from capomastro_changes.testing import servers

ALLOWED = ("file", "git", "http", "https", "ssh", "bzr")


@dataclass
class Served:
    """A directory of repositories and how to reach one of them by name."""

    base: Path
    url: Callable[[str], str]
    history_at_hand: bool


@pytest.fixture(params=["path", "file-url", "git-daemon", "smart-http"])
def git_served(request, tmp_path):
    """Repositories below ``base``, reached by path, file://, git:// or smart HTTP."""
    base = tmp_path / "served"
    base.mkdir()
    with contextlib.ExitStack() as stack:
        kind = request.param
        if kind == "path":
            root = str(base)
        elif kind == "file-url":
            root = f"file://{base}"
        elif kind == "git-daemon":
            root = stack.enter_context(servers.git_daemon(base))
        else:
            root = stack.enter_context(servers.git_http(base))
        yield Served(base, lambda name: f"{root}/{name}", kind in ("path", "file-url"))


@pytest.fixture(params=["path", "file-url", "brz-serve", "http"])
def bzr_served(request, tmp_path):
    """Branches below ``base``, reached by path, file://, bzr:// or plain HTTP."""
    base = tmp_path / "branches"
    base.mkdir()
    with contextlib.ExitStack() as stack:
        kind = request.param
        if kind == "path":
            root = str(base)
        elif kind == "file-url":
            root = f"file://{base}"
        elif kind == "brz-serve":
            root = stack.enter_context(servers.brz_serve(base))
        else:
            root = stack.enter_context(servers.static_http(base))
        yield Served(base, lambda name: f"{root}/{name}", kind in ("path", "file-url"))
