"""The compare rules, as a table: stored state + probe answer -> outcome."""

from __future__ import annotations

import pytest

from capomastro_changes.detection.compare import decide
from capomastro_changes.revisions import Outcome, ProbeAnswer, Revision, SourceRef, StoredState

GIT = SourceRef("git", "https://example.com/x.git", "main")
BZR = SourceRef("bzr", "bzr://example.com/trunk")


def git_answer(new, ancestry=()):
    return ProbeAnswer(GIT, Revision(new), ancestry)


def bzr_answer(revno, new, ancestry=()):
    return ProbeAnswer(BZR, Revision(new, revno), ancestry)


def test_first_sight_is_a_baseline_that_triggers_nothing():
    for stored in (None, StoredState()):
        decision = decide(stored, git_answer("a1"))
        assert decision.outcome is Outcome.BASELINE
        assert decision.new == Revision("a1")
        assert not decision.triggers_build


@pytest.mark.parametrize(
    ("stored", "answer", "outcome"),
    [
        (StoredState("a1"), git_answer("a1"), Outcome.UNCHANGED),
        (StoredState("a1"), git_answer("b2"), Outcome.CHANGED),
        (StoredState("a1"), git_answer("b2", (("a1", True),)), Outcome.CHANGED),
        (StoredState("a1"), git_answer("b2", (("a1", False),)), Outcome.REWRITTEN),
        (StoredState("r5", 5), bzr_answer(5, "r5"), Outcome.UNCHANGED),
        (StoredState("r5", 5), bzr_answer(6, "r6"), Outcome.CHANGED),
        (StoredState("r5", 5), bzr_answer(4, "r4"), Outcome.REWRITTEN),
        (StoredState("r5", 5), bzr_answer(5, "other"), Outcome.REWRITTEN),
        (StoredState("r5", 5), bzr_answer(7, "x7", (("r5", False),)), Outcome.REWRITTEN),
        (StoredState("r5", None), bzr_answer(7, "r7"), Outcome.CHANGED),
    ],
)
def test_the_outcome_follows_the_rules_of_each_vcs(stored, answer, outcome):
    decision = decide(stored, answer)
    assert decision.outcome is outcome
    assert decision.old == stored.last
    assert decision.new == answer.revision
    assert decision.reason


def test_only_changes_and_rewrites_trigger_builds():
    stored = StoredState("a1")
    assert decide(stored, git_answer("b2")).triggers_build
    assert decide(stored, git_answer("b2", (("a1", False),))).triggers_build
    assert not decide(stored, git_answer("a1")).triggers_build


def test_a_probe_error_is_never_a_change():
    failed = ProbeAnswer(GIT, error="x.git: connection refused")
    for stored in (None, StoredState("a1")):
        decision = decide(stored, failed)
        assert decision.outcome is Outcome.ERROR
        assert decision.new is None
        assert not decision.triggers_build
        assert decision.reason == "x.git: connection refused"


def test_a_gone_branch_is_missing_not_changed():
    gone = ProbeAnswer(GIT, error="no branch 'main'", missing=True)
    decision = decide(StoredState("a1"), gone)
    assert decision.outcome is Outcome.MISSING
    assert decision.old == Revision("a1")
    assert not decision.triggers_build


def test_a_probe_script_verdict_overrides_the_revision_comparison():
    said_no = ProbeAnswer(GIT, Revision("b2"), changed=False)
    said_yes = ProbeAnswer(GIT, Revision("a1"), changed=True)
    assert decide(StoredState("a1"), said_no).outcome is Outcome.UNCHANGED
    assert decide(StoredState("a1"), said_yes).outcome is Outcome.CHANGED
    assert decide(None, said_yes).outcome is Outcome.BASELINE
