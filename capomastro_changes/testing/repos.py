"""Real git repositories and bzr branches for tests and benchmarks.

git ones are made with the git CLI (argv lists), bzr ones with breezy's API
(in process: starting ``brz`` for every commit would dominate test time).
A git fixture is a bare repository (what a server serves) and a working
clone that commits and pushes to it, so that force-pushes are real pushes.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}  # fmt: skip
_COUNTER = itertools.count()


def git(*args: str, cwd: str | os.PathLike) -> str:
    """Run git with ``args`` in ``cwd`` and return its stripped stdout."""
    env = {**os.environ, **_GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class GitRepo:
    """A bare repository at ``bare`` and a working clone at ``work`` pushing to it."""

    bare: Path
    work: Path

    def commit(self, branch: str = "main", message: str = "change") -> str:
        """Commit a change on ``branch`` and push it; returns the new commit id."""
        self._switch(branch)
        name = f"file-{next(_COUNTER)}.txt"
        (self.work / name).write_text(message)
        git("add", name, cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", branch, cwd=self.work)
        return self.rev_parse(branch)

    def rewrite(self, branch: str = "main") -> str:
        """Replace the tip of ``branch`` with another commit and force-push it."""
        self._switch(branch)
        git("reset", "-q", "--hard", "HEAD~1", cwd=self.work)
        return self._force(branch, "rewritten")

    def force_back(self, commit: str, branch: str = "main") -> str:
        """Force-push ``branch`` back to an earlier ``commit`` (withdrawing what came after)."""
        self._switch(branch)
        git("reset", "-q", "--hard", commit, cwd=self.work)
        git("push", "-q", "--force", "origin", branch, cwd=self.work)
        return self.rev_parse(branch)

    def _force(self, branch: str, message: str) -> str:
        (self.work / f"file-{next(_COUNTER)}.txt").write_text(message)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "--force", "origin", branch, cwd=self.work)
        return self.rev_parse(branch)

    def tag(self, name: str, target: str = "HEAD") -> None:
        """Create or move an annotated tag and push it."""
        git("tag", "-f", "-a", "-m", name, name, target, cwd=self.work)
        git("push", "-q", "--force", "origin", f"refs/tags/{name}", cwd=self.work)

    def delete_branch(self, branch: str) -> None:
        """Delete ``branch`` on the server."""
        git("push", "-q", "origin", "--delete", branch, cwd=self.work)

    def rev_parse(self, ref: str) -> str:
        """What ``git rev-parse REF^{commit}`` says in the served repository."""
        return git("rev-parse", f"{ref}^{{commit}}", cwd=self.bare)

    def _switch(self, branch: str) -> None:
        if git("branch", "--list", branch, cwd=self.work):
            git("checkout", "-q", branch, cwd=self.work)
        else:
            git("checkout", "-q", "-b", branch, cwd=self.work)


def make_git(base: str | os.PathLike, name: str = "project", commits: int = 1) -> GitRepo:
    """A served bare repository ``base/NAME.git`` with ``commits`` commits on ``main``."""
    base = Path(base)
    bare, work = base / f"{name}.git", base / f"{name}-work"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=base)
    git("init", "-q", "-b", "main", str(work), cwd=base)
    git("remote", "add", "origin", str(bare), cwd=work)
    repo = GitRepo(bare, work)
    for number in range(commits):
        repo.commit(message=f"commit {number}")
    return repo


def make_empty_git(base: str | os.PathLike, name: str = "empty") -> Path:
    """A bare repository with no commits at all."""
    bare = Path(base) / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=base)
    return bare


@dataclass
class BzrBranch:
    """A standalone bzr branch with a working tree, made and changed with breezy."""

    path: Path

    def commit(self, message: str = "change") -> tuple[int, str]:
        """Commit a change; returns the new ``(revno, revision-id)``."""
        from breezy.workingtree import WorkingTree

        tree = WorkingTree.open(str(self.path))
        name = f"file-{next(_COUNTER)}.txt"
        (self.path / name).write_text(message)
        with tree.lock_write():
            tree.add([name])
            tree.commit(message, committer="Test <test@example.com>")
        return self.revision_info()

    def uncommit(self) -> tuple[int, str]:
        """Remove the tip revision (``brz uncommit``)."""
        from breezy.uncommit import uncommit
        from breezy.workingtree import WorkingTree

        tree = WorkingTree.open(str(self.path))
        uncommit(tree.branch, tree=tree)
        return self.revision_info()

    def overwrite_from(self, other: BzrBranch) -> tuple[int, str]:
        """Replace this branch's history with ``other``'s (``brz pull --overwrite``)."""
        from breezy.branch import Branch
        from breezy.workingtree import WorkingTree

        tree = WorkingTree.open(str(self.path))
        tree.pull(Branch.open(str(other.path)), overwrite=True)
        return self.revision_info()

    def revision_info(self) -> tuple[int, str]:
        """``(revno, revision-id)`` of the tip."""
        from breezy.branch import Branch

        revno, revid = Branch.open(str(self.path)).last_revision_info()
        return revno, revid.decode()


def make_bzr(path: str | os.PathLike, commits: int = 1) -> BzrBranch:
    """A new standalone branch at ``path`` with ``commits`` commits."""
    import breezy.bzr  # noqa: F401  (registers the bzr formats)
    from breezy.controldir import ControlDir, format_registry

    ControlDir.create_standalone_workingtree(str(path), format_registry.make_controldir("2a"))
    branch = BzrBranch(Path(path))
    for number in range(commits):
        branch.commit(f"commit {number}")
    return branch


def sprout_bzr(source: BzrBranch, path: str | os.PathLike) -> BzrBranch:
    """A copy of ``source`` at ``path`` (``brz branch``)."""
    from breezy.controldir import ControlDir

    ControlDir.open(str(source.path)).sprout(str(path))
    return BzrBranch(Path(path))
