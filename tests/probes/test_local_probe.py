"""The in-process probe end to end: real repositories, real servers, the compare rules."""

from __future__ import annotations

import time

import pytest

from capomastro_changes.detection.compare import decide
from capomastro_changes.probes.base import probe_all
from capomastro_changes.probes.local import probe
from capomastro_changes.revisions import Outcome, Revision, SourceRef, StoredState
from capomastro_changes.testing import repos, servers

pytestmark = pytest.mark.usefixtures("probe_settings")


def check(source, stored):
    """One check as the task runs it: probe with the last revision, then decide."""
    return decide(stored, probe(source, stored.last if stored else None))


def remember(decision):
    return StoredState(decision.new.id, decision.new.revno)


def test_git_first_sight_then_unchanged_then_changed_over_git_daemon(tmp_path):
    repo = repos.make_git(tmp_path)
    with servers.git_daemon(tmp_path) as root:
        source = SourceRef("git", f"{root}/project.git", "main")
        first = check(source, None)
        assert first.outcome is Outcome.BASELINE
        assert check(source, remember(first)).outcome is Outcome.UNCHANGED
        new = repo.commit()
        changed = check(source, remember(first))
        assert (changed.outcome, changed.new) == (Outcome.CHANGED, Revision(new))


def test_a_force_push_is_changed_remotely_and_rewritten_when_history_is_at_hand(tmp_path):
    repo = repos.make_git(tmp_path, commits=2)
    stored = StoredState(repo.rev_parse("main"))
    repo.rewrite()
    with servers.git_http(tmp_path) as root:
        remote = SourceRef("git", f"{root}/project.git", "main")
        assert check(remote, stored).outcome is Outcome.CHANGED
    local = SourceRef("git", str(repo.bare), "main")
    assert check(local, stored).outcome is Outcome.REWRITTEN
    repo.commit()
    assert check(local, StoredState(repo.rev_parse("main~1"))).outcome is Outcome.CHANGED


def test_a_moved_tag_is_changed(tmp_path):
    repo = repos.make_git(tmp_path)
    repo.tag("release")
    source = SourceRef("git", str(repo.bare), "release")
    stored = remember(check(source, None))
    repo.commit()
    repo.tag("release")
    assert check(source, stored).outcome is Outcome.CHANGED


def test_a_deleted_branch_is_missing(tmp_path):
    repo = repos.make_git(tmp_path)
    repo.commit(branch="feature")
    source = SourceRef("git", str(repo.bare), "feature")
    stored = remember(check(source, None))
    repo.delete_branch("feature")
    decision = check(source, stored)
    assert decision.outcome is Outcome.MISSING
    assert "feature" in decision.reason


def test_bzr_uncommit_and_overwrite_are_rewritten_over_brz_serve(tmp_path):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=3)
    other = repos.make_bzr(tmp_path / "other", commits=2)
    with servers.brz_serve(tmp_path) as root:
        source = SourceRef("bzr", f"{root}/trunk")
        stored = remember(check(source, None))
        assert stored.last_revno == 3
        trunk.uncommit()
        assert check(source, stored).outcome is Outcome.REWRITTEN
        trunk.commit()
        assert check(source, stored).outcome is Outcome.REWRITTEN  # same revno, other id
        stored = remember(check(source, stored))
        trunk.commit()
        assert check(source, stored).outcome is Outcome.CHANGED
        trunk.overwrite_from(other)  # revno 4 -> 2
        assert check(source, stored).outcome is Outcome.REWRITTEN


def test_bzr_overwrite_to_a_longer_history_is_rewritten_when_history_is_at_hand(tmp_path):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=2)
    other = repos.make_bzr(tmp_path / "other", commits=6)
    source = SourceRef("bzr", str(trunk.path))
    stored = remember(check(source, None))
    trunk.overwrite_from(other)
    decision = check(source, stored)
    assert (decision.outcome, decision.new.revno) == (Outcome.REWRITTEN, 6)
    trunk.commit()
    assert check(source, remember(decision)).outcome is Outcome.CHANGED


def test_a_silent_server_is_an_error_within_the_time_limit_and_never_a_change(tmp_path):
    with servers.silent_server() as port:
        started = time.monotonic()
        decision = check(SourceRef("git", f"git://127.0.0.1:{port}/x.git"), StoredState("a1"))
        assert time.monotonic() - started < 2
    assert decision.outcome is Outcome.ERROR
    assert "no answer within 1 seconds" in decision.reason
    assert not decision.triggers_build


def test_local_paths_are_refused_with_the_default_policy(tmp_path, settings):
    repo = repos.make_git(tmp_path)
    del settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES
    answer = probe(SourceRef("git", str(repo.bare)))
    assert answer.error.endswith("the 'file' scheme is not allowed here")
    assert decide(None, answer).outcome is Outcome.ERROR


def test_one_probe_run_serves_every_dependency_sharing_a_source(tmp_path):
    repo = repos.make_git(tmp_path)
    calls = []

    def counting_probe(source, last=()):
        calls.append((source, last))
        return probe(source, last)

    shared = SourceRef("git", str(repo.bare), "main")
    other = SourceRef("git", str(repo.bare), "other")
    answers = probe_all(counting_probe, {shared: [None, Revision("a1"), Revision("a1")], other: []})
    assert [source for source, _ in calls] == [shared, other]
    assert calls[0][1] == (Revision("a1"),)
    assert answers[shared].revision == Revision(repo.rev_parse("main"))
    assert answers[other].missing


SECRET_URL = "https://alice:s3cret@git.example.com/x.git"
UNFORESEEN = RuntimeError(f"pool broke on {SECRET_URL}\nTraceback (most recent call last): ...")


def test_a_reader_failure_nobody_foresaw_is_an_error_answer_naming_the_source(monkeypatch):
    def reader_with_a_bug(*args, **kwargs):
        raise UNFORESEEN

    monkeypatch.setattr("capomastro_changes.probes.local.read", reader_with_a_bug)
    answer = probe(SourceRef("git", SECRET_URL, "main"))
    assert answer.error == (
        "https://***@git.example.com/x.git: the probe failed unexpectedly "
        "(RuntimeError: pool broke on https://***@git.example.com/x.git)"
    )
    assert decide(StoredState("a1"), answer).outcome is Outcome.ERROR


def test_a_probe_that_raises_costs_only_its_own_source_an_error(tmp_path):
    repo = repos.make_git(tmp_path)
    broken, fine = SourceRef("git", SECRET_URL, "main"), SourceRef("git", str(repo.bare), "main")

    def flaky_probe(source, last=()):
        if source == broken:
            raise UNFORESEEN
        return probe(source, last)

    answers = probe_all(flaky_probe, {broken: [Revision("a1")], fine: []})
    assert answers[fine].revision == Revision(repo.rev_parse("main"))
    assert "RuntimeError" in answers[broken].error and "s3cret" not in answers[broken].error
    assert "Traceback" not in answers[broken].error
