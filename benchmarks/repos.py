"""Repositories for the benchmark: git repositories of chosen shapes, bzr branches.

Refs are written straight into a sorted ``packed-refs`` file (what ``git
pack-refs`` produces) so that a repository with 100,000 refs takes a second
to make, not minutes; git reads it exactly as it reads a packed repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GIT = "/usr/bin/git"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Benchmark",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "Benchmark",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def quiet_env(home: str | os.PathLike) -> dict[str, str]:
    """An environment for git and brz children: no user config, no prompts, no logs."""
    return {
        **os.environ,
        **_IDENTITY,
        "HOME": str(home),
        "GIT_TERMINAL_PROMPT": "0",
        "BRZ_EMAIL": "Benchmark <bench@localhost>",
        "BRZ_LOG": os.devnull,
        "BRZ_HOME": str(home),
    }


def _git(env: dict, *argv: str) -> str:
    done = subprocess.run([GIT, *argv], env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def make_git_repo(path: Path, env: dict, branches: int = 0, tags: int = 0) -> Path:
    """A bare repository: ``main`` at one commit, plus ``branches`` and ``tags`` more refs.

    Args:
        path: Where to make it (``.../name.git``).
        env: The environment for git (see :func:`quiet_env`).
        branches: Extra branches (``refs/heads/b000001`` ...), all at the same commit.
        tags: Lightweight tags (``refs/tags/t000001`` ...).

    Returns:
        ``path``.
    """
    _git(env, "init", "--quiet", "--bare", "--initial-branch=main", str(path))
    commit = _git(env, "-C", str(path), "commit-tree", EMPTY_TREE, "-m", "benchmark")
    names = ["refs/heads/main"]
    names += [f"refs/heads/b{n:06d}" for n in range(branches)]
    names += [f"refs/tags/t{n:06d}" for n in range(tags)]
    lines = [f"{commit} {name}\n" for name in sorted(names)]
    with open(path / "packed-refs", "w", encoding="ascii") as packed:
        packed.write("# pack-refs with: peeled fully-peeled sorted \n")
        packed.writelines(lines)
    return path


def make_bzr_branch(path: Path, env: dict, commits: int = 2) -> Path:
    """A standalone bzr branch with ``commits`` empty commits, made with the ``brz`` CLI."""
    brz = str(Path(sys.executable).parent / "brz")
    subprocess.run([brz, "init", "--quiet", str(path)], env=env, check=True, capture_output=True)
    for n in range(commits):
        argv = [brz, "commit", "--quiet", "--unchanged", "-m", f"benchmark {n}", str(path)]
        subprocess.run(argv, env=env, check=True, capture_output=True)
    return path
