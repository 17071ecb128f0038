"""Random history for the world's sources: commits, force-pushes (back to earlier
commits too), overwrites, deletions.

Most steps are plain commits; a few rewrite history (a git force-push, a bzr
uncommit or ``pull --overwrite``) or delete the tracked git branch, which a
later step pushes again. At the end every deleted branch is back, so every
source has a final revision the invariants can ask about.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from capomastro_changes.testing.repos import git, sprout_bzr
from stress.world import SourceHandle


class Churn:
    """Applies random changes to the sources and counts them by kind."""

    def __init__(self, handles: list[SourceHandle], rng: random.Random, scratch: Path) -> None:
        self.handles, self.rng, self.scratch = handles, rng, scratch
        self.counts: Counter = Counter()
        self.deleted: set[str] = set()
        for handle in handles:
            if handle.git:  # a served repository lets its default branch be deleted
                git("config", "receive.denyDeleteCurrent", "ignore", cwd=handle.git.bare)

    def step(self) -> str:
        """One random change to one random source; returns its kind."""
        handle = self.rng.choice(self.handles)
        roll = self.rng.random()
        name = handle.dependency.name
        if roll > 0.85:  # a burst: changes faster than builds, for the busy policies
            kind = self._burst(handle, name)
        elif handle.git:
            kind = self._git(handle, name, roll)
        else:
            kind = self._bzr(handle, roll)
        self.counts[kind] += 1
        plain = kind in ("commit", "recreated", "burst")
        self.counts["commits" if plain else "history_rewrites"] += kind != "deleted_branch"
        return kind

    def _git(self, handle: SourceHandle, name: str, roll: float) -> str:
        repo = handle.git
        if name in self.deleted:
            self.deleted.discard(name)
            repo.commit(message="recreated")
            return "recreated"
        if roll < 0.08:
            repo.delete_branch("main")
            self.deleted.add(name)
            return "deleted_branch"
        if roll < 0.13 and int(git("rev-list", "--count", "main", cwd=repo.bare)) > 2:
            repo.force_back(f"HEAD~{self.rng.randint(1, 2)}")  # a withdrawn commit
            return "force_push_back"
        if roll < 0.18:
            repo.rewrite()
            return "force_push"
        repo.commit(message=f"change {self.counts['commit']}")
        return "commit"

    def _burst(self, handle: SourceHandle, name: str, size: int = 4) -> str:
        for n in range(size):
            if n:
                time.sleep(self.rng.uniform(0.3, 1.2))
            if handle.git:
                self.deleted.discard(name)
                handle.git.commit(message=f"burst {n}")
            else:
                handle.bzr.commit(f"burst {n}")
        self.counts["commits"] += size - 1
        return "burst"

    def _bzr(self, handle: SourceHandle, roll: float) -> str:
        branch = handle.bzr
        if roll < 0.08 and branch.revision_info()[0] > 1:
            branch.uncommit()
            branch.commit("after uncommit")
            return "uncommit_recommit"
        if roll < 0.16:
            side = sprout_bzr(branch, self.scratch / f"side-{self.rng.getrandbits(40):x}")
            side.uncommit()
            side.commit("a diverging line")
            branch.overwrite_from(side)
            return "overwrite"
        branch.commit(f"change {self.counts['commit']}")
        return "commit"

    def run(self, steps: int, seconds: float, between=None) -> None:
        """``steps`` changes spread over about ``seconds``; ``between(i)`` after each."""
        pause = seconds / max(steps, 1)
        for i in range(steps):
            started = time.monotonic()
            self.step()
            if between:
                between(i)
            time.sleep(max(0.0, pause - (time.monotonic() - started)))

    def finish(self) -> None:
        """Bring every deleted branch back, so each source ends with a revision."""
        for handle in self.handles:
            if handle.dependency.name in self.deleted:
                handle.git.commit(message="recreated at the end")
                self.counts["recreated"] += 1
                self.counts["commits"] += 1
        self.deleted.clear()
