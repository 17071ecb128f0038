"""The compare rules: what a probe answer means given the stored state.

Pure functions on plain values, no Django, so that the rules read as a table
and are tested as one. A probe error is never a change: it moves nothing.
"""

from __future__ import annotations

from capomastro_changes.revisions import Decision, Outcome, ProbeAnswer, Revision, StoredState


def decide(stored: StoredState | None, answer: ProbeAnswer) -> Decision:
    """Decide the outcome of one check.

    Args:
        stored: What was recorded for the source (None, or an empty state,
            before the first successful check).
        answer: What the probe saw.

    Returns:
        The decision: ``error`` and ``missing`` when the probe failed,
        ``baseline`` on first sight (record, trigger nothing), otherwise
        ``unchanged``, ``changed`` or ``rewritten``.
    """
    old = stored.last if stored is not None else None
    if answer.error or answer.revision is None:
        if answer.missing:
            return Decision(Outcome.MISSING, old, None, answer.error or "the branch is gone")
        return Decision(Outcome.ERROR, old, None, answer.error or "the probe gave no revision")
    new = answer.revision
    if old is None:
        return Decision(Outcome.BASELINE, None, new, "first sight: recorded, nothing triggered")
    if answer.changed is not None:
        outcome = Outcome.CHANGED if answer.changed else Outcome.UNCHANGED
        return Decision(outcome, old, new, "the probe script decided")
    if new.id == old.id:
        return Decision(Outcome.UNCHANGED, old, new, "same revision")
    if answer.source.vcs == "bzr":
        return _decide_bzr(old, new, answer.descends_from(old.id))
    return _decide_git(old, new, answer.descends_from(old.id))


def _decide_bzr(old: Revision, new: Revision, descends: bool | None) -> Decision:
    """bzr revnos are sequential: a lower revno, or the same one under a new id, is a rewrite."""
    if old.revno is not None and new.revno is not None:
        if new.revno < old.revno:
            reason = f"revno went down from {old.revno} to {new.revno}: the branch was overwritten"
            return Decision(Outcome.REWRITTEN, old, new, reason)
        if new.revno == old.revno:
            reason = f"revno {new.revno} now names another revision: the branch was overwritten"
            return Decision(Outcome.REWRITTEN, old, new, reason)
    if descends is False:
        reason = "the new tip does not descend from the old one: the branch was overwritten"
        return Decision(Outcome.REWRITTEN, old, new, reason)
    return Decision(Outcome.CHANGED, old, new, "new revisions")


def _decide_git(old: Revision, new: Revision, descends: bool | None) -> Decision:
    """git ids are not ordered: different is changed; a known non-fast-forward is a rewrite."""
    if descends is False:
        reason = "the old commit is not an ancestor of the new one: history was rewritten"
        return Decision(Outcome.REWRITTEN, old, new, reason)
    if descends is None:
        return Decision(Outcome.CHANGED, old, new, "a different commit (history not at hand)")
    return Decision(Outcome.CHANGED, old, new, "new commits (fast-forward)")
