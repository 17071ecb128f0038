"""Value objects shared by the VCS readers, the probes and the compare rules.

Nothing here imports Django: ``bygmester-probe`` uses these types inside an LXC
container where only this package is installed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from capomastro_changes.redaction import redact_url

MAX_REVISION_LENGTH = 255  # the database's revision columns
MAX_REVNO = 2**31 - 1  # the database's revno columns (PositiveIntegerField)


class VCS(enum.StrEnum):
    """The version-control systems a source can live in."""

    GIT = "git"
    BZR = "bzr"


class Outcome(enum.StrEnum):
    """What one check concluded, as written down in the check history."""

    BASELINE = "baseline"  # first sight: recorded, nothing triggered
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    REWRITTEN = "rewritten"  # history was overwritten: a change, said loudly
    MISSING = "missing"  # the branch or the repository is gone
    ERROR = "error"  # the probe could not answer: never a change


@dataclass(frozen=True)
class SourceRef:
    """Where a dependency's source lives: what a probe is asked about.

    Hashable, so that dependencies sharing a source can share one probe run.

    Attributes:
        vcs: ``"git"`` or ``"bzr"``.
        url: The repository (git) or branch (bzr) location.
        branch: git: a branch name, a full ref (``refs/...``), a tag, or empty
            for the remote HEAD. bzr: a path below ``url`` (empty: ``url`` is
            the branch).
    """

    vcs: str
    url: str
    branch: str = ""


@dataclass(frozen=True)
class Revision:
    """A revision as a probe saw it.

    Attributes:
        id: The commit id (git) or revision-id (bzr), or any opaque string a
            per-project probe script uses to name what it saw.
        revno: The bzr revision number; None for git.
    """

    id: str
    revno: int | None = None


@dataclass(frozen=True)
class Reading:
    """What a VCS reader found at the tip of a branch.

    Attributes:
        revision: The tip revision.
        ref: The ref (git) or branch URL (bzr) that was resolved.
        ancestry: ``(revision id, is an ancestor of the tip)`` for each last
            known revision the reader could judge because history was at hand.
    """

    revision: Revision
    ref: str = ""
    ancestry: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class ProbeAnswer:
    """One probe run's answer about one source: a revision, or why there is none.

    Attributes:
        source: The source that was probed.
        revision: The current tip, or None when the probe failed.
        ancestry: See :attr:`Reading.ancestry`; empty when history was not at hand.
        changed: A probe script's own yes/no verdict, when it gives one.
        error: Why the probe failed (an operator-readable sentence), or "".
        missing: True when the failure is that the branch or repository is gone.
        seconds: How long the probe took.
    """

    source: SourceRef
    revision: Revision | None = None
    ancestry: tuple[tuple[str, bool], ...] = ()
    changed: bool | None = None
    error: str = ""
    missing: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the probe answered with a revision."""
        return self.revision is not None and not self.error

    def descends_from(self, revision_id: str) -> bool | None:
        """Whether the tip descends from ``revision_id``; None when unknown."""
        return dict(self.ancestry).get(revision_id)


@dataclass(frozen=True)
class StoredState:
    """The last revision recorded for a source (what the database remembers).

    Attributes:
        last_revision: The recorded revision id, or None before the first check.
        last_revno: The recorded bzr revno, or None.
    """

    last_revision: str | None = None
    last_revno: int | None = None

    @property
    def last(self) -> Revision | None:
        """The recorded revision, or None before the first successful check."""
        if not self.last_revision:
            return None
        return Revision(self.last_revision, self.last_revno)


@dataclass(frozen=True)
class Decision:
    """The verdict of comparing a probe answer with the stored state.

    Attributes:
        outcome: What the check concluded.
        old: The stored revision before this check, if any.
        new: The revision the probe saw, if any: what the stored state becomes
            at once for a baseline, and once the build is accepted for a change.
        reason: One sentence for the check history.
    """

    outcome: Outcome
    old: Revision | None = None
    new: Revision | None = None
    reason: str = field(default="")

    @property
    def triggers_build(self) -> bool:
        """True when this outcome asks for a rebuild (a change or a rewrite)."""
        return self.outcome in (Outcome.CHANGED, Outcome.REWRITTEN)


def revision_problem(revision: Revision) -> str:
    """Why ``revision`` may not be stored or built, or "" when it may.

    A revision reaches a build script's command line and every page; one that
    starts with ``-`` would be read as an option there, and whitespace or
    control characters would split or disguise it. A revno must fit the
    database's column. Branches and URLs are held to the same rule
    (:mod:`capomastro_changes.validators`).
    """
    text = revision.id
    if not text or len(text) > MAX_REVISION_LENGTH:
        return f"a revision of {len(text)} characters (1 to {MAX_REVISION_LENGTH} are allowed)"
    if text.startswith("-"):
        return "a revision starting with '-', which a build script would read as an option"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "a revision with whitespace or control characters"
    revno = revision.revno
    if revno is not None and (isinstance(revno, bool) or not 0 <= revno <= MAX_REVNO):
        return f"a revno out of range (0 to {MAX_REVNO})"
    return ""


def vetted(answer: ProbeAnswer) -> ProbeAnswer:
    """``answer``, or an error answer when the revision it gives may not be used."""
    if answer.revision is None:
        return answer
    problem = revision_problem(answer.revision)
    if not problem:
        return answer
    where = redact_url(answer.source.url)
    return replace(answer, revision=None, error=f"{where}: the probe answered {problem}; refused")


def short_revision(revision: str, revno: int | None = None, empty: str = "") -> str:
    """A revision as people read it, the same everywhere: bzr as ``r<revno>``, git cut to 12.

    A bzr revision-id without its revno (``jo@example.com-20261203120000-1a2b3c4d``)
    shows its tail: its head is the committer, the same for every revision.
    """
    if not revision:
        return empty
    if revno is not None:
        return f"r{revno}"
    return revision[-12:] if "@" in revision else revision[:12]
