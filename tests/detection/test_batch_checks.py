"""Checks in batches: what a sweep of many sources costs, and that one slow source
holds up none of the others."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capomastro_changes.detection.batch import batches, check_batch
from capomastro_changes.models import CheckRecord, RebuildRequest, SourceState
from capomastro_changes.testing import repos, servers
from capomastro_changes.testing.factories import make_dependency, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_branches(tmp_path, redis_client, key_prefix, settings):
    """A git repository with many branches: one source per branch, all checked once."""
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "git")
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 2.0
    repo = repos.make_git(tmp_path)
    made = []

    def sources(count: int) -> list[int]:
        ids = []
        for n in range(len(made), len(made) + count):
            made.append(n)
            repos.git("branch", "-f", f"b{n}", "main", cwd=repo.work)
            repos.git("push", "-q", "-f", "origin", f"b{n}", cwd=repo.work)
            dep = make_dependency(source=make_source("git", str(repo.bare), branch=f"b{n}"))
            ids.append(dep.source_id)
        assert sum(check_batch(ids).values()) == count  # baselines, one by one
        return ids

    return repo, sources


def statement_kinds(queries) -> list[str]:
    """The kind of each statement, history pruning left out.

    A source's history is pruned when its new record's id is a multiple of
    PRUNE_EVERY: on PostgreSQL the ids go on from the tests before (sequences are
    not rolled back), so whether a batch prunes depends on them, not on its size.
    """
    pruning = ("OFFSET", "DELETE")
    return [
        q["sql"].split()[0] for q in queries.captured_queries
        if not any(word in q["sql"] for word in pruning)
    ]  # fmt: skip


def test_statements_per_batch_of_unchanged_sources_do_not_grow_with_the_batch(many_branches):
    _repo, sources = many_branches
    small, large = sources(3), sources(24)
    with CaptureQueriesContext(connection) as few:
        assert check_batch(small)["unchanged"] == 3
    with CaptureQueriesContext(connection) as many:
        assert check_batch(large)["unchanged"] == 24
    assert statement_kinds(few) == statement_kinds(many)
    kinds = [k for k in statement_kinds(many) if k in ("SELECT", "INSERT", "UPDATE")]
    assert kinds == ["SELECT", "SELECT", "INSERT", "UPDATE"], kinds
    assert CheckRecord.objects.filter(source_id__in=large, outcome="unchanged").count() == 24
    assert all(s.last_outcome == "unchanged" for s in SourceState.objects.filter(pk__in=large))


def test_a_change_in_a_batch_becomes_a_request_as_a_single_check_makes_it(many_branches):
    repo, sources = many_branches
    ids = sources(4)
    new = repo.commit("b2")
    outcomes = check_batch(ids)
    assert (outcomes["changed"], outcomes["unchanged"]) == (1, 3)
    request = RebuildRequest.objects.get()
    assert (request.dependency.source_id, request.revision) == (ids[2], new)


def test_a_hung_server_does_not_slow_the_rest_of_its_batch(many_branches):
    _repo, sources = many_branches
    healthy = sources(50)
    with servers.silent_server() as port:
        hung = make_dependency(source=make_source("git", f"git://127.0.0.1:{port}/x.git"))
        started = time.monotonic()
        outcomes = check_batch([hung.source_id, *healthy])
        took = time.monotonic() - started
    assert (outcomes["unchanged"], outcomes["error"]) == (50, 1)
    assert took < 2.0 + 3.0, took  # the hung read's own deadline, not 51 of them
    slowest_healthy = max(
        CheckRecord.objects.filter(source_id__in=healthy).values_list("duration_ms", flat=True)
    )
    assert slowest_healthy < 2000, slowest_healthy  # none waited for the hung one
    state = SourceState.objects.get(pk=hung.source_id)
    assert "no answer within 2" in state.last_error


def test_a_batch_of_hung_sources_ends_before_its_check_locks_and_leaves_the_rest(
    many_branches, settings, caplog
):
    _repo, sources = many_branches
    healthy = sources(2)
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 0.5
    settings.CAPOMASTRO_CHANGES_CHECK_LOCK_TTL = 2.2  # reads must end within 1.76 s
    settings.CAPOMASTRO_CHANGES_CHECK_BATCH_THREADS = 1
    before = {s.pk: s.next_check_at for s in SourceState.objects.filter(pk__in=healthy)}
    with servers.silent_server() as port:
        hung = [
            make_dependency(source=make_source("git", f"git://127.0.0.1:{port}/h{n}.git"))
            for n in range(6)
        ]
        started = time.monotonic()
        outcomes = check_batch([dep.source_id for dep in hung] + healthy)
        took = time.monotonic() - started
    # One thread, in the batch's order: hung reads at 0, 0.5 and 1 s; a fourth would end
    # at 2 s, after 1.76 s: it and the rest are not started.
    assert (outcomes["error"], outcomes["left for the next sweep"]) == (3, 5), outcomes
    assert took < 2.2, took  # within the locks' life, not 8 reads × 0.5 s
    left = SourceState.objects.filter(pk__in=healthy)
    assert {s.pk: s.next_check_at for s in left} == before  # untouched: checked next time
    assert not CheckRecord.objects.filter(source_id__in=healthy, outcome="unchanged").exists()
    assert "batch left 5 sources to the next sweep" in caplog.text
    assert check_batch(healthy)["unchanged"] == 2  # and the lock is free for that


@pytest.mark.django_db(transaction=True)  # the push is written from the reader's thread
def test_a_push_while_a_batch_reads_a_source_keeps_it_due_once_more(many_branches):
    from django.utils import timezone

    from capomastro_changes.detection.batch import conclude_all, read_all
    from capomastro_changes.detection.probing import prepared_probe
    from capomastro_changes.detection.sweep import due_sources

    _repo, sources = many_branches
    ids = sources(3)
    states = SourceState.objects.select_related("source").in_bulk(ids)

    class PushedDuringTheRead:
        """The real probe, with a push for ``ids[1]`` arriving while it reads."""

        def __init__(self, source_id):
            self.source_id, self.probe = (
                source_id,
                prepared_probe(states[source_id].source, None, []),
            )
            self.name = self.probe.name

        def __call__(self):
            if self.source_id == ids[1]:
                SourceState.objects.make_due([self.source_id])
                connection.close()  # this thread's own: reader threads outlive the test
            return self.probe()

    probes = {source_id: PushedDuringTheRead(source_id) for source_id in ids}
    deps = {source_id: [] for source_id in ids}
    assert conclude_all(states, deps, probes, read_all(probes))["unchanged"] == 3
    assert due_sources(timezone.now(), 10) == [ids[1]]  # read again by the next sweep
    assert check_batch([ids[1]])["unchanged"] == 1
    assert due_sources(timezone.now(), 10) == []  # and only once


def test_a_read_that_starts_late_gets_the_time_left_instead_of_being_skipped(
    many_branches, settings
):
    _repo, sources = many_branches
    healthy = sources(2)
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 2.0
    settings.CAPOMASTRO_CHANGES_CHECK_LOCK_TTL = 3.0  # reads must end within 2.4 s
    settings.CAPOMASTRO_CHANGES_CHECK_BATCH_THREADS = 1
    with servers.silent_server() as port:
        hung = make_dependency(source=make_source("git", f"git://127.0.0.1:{port}/h.git"))
        outcomes = check_batch([hung.source_id, *healthy])
    # The hung read ends at 2 s; the healthy ones start with 0.4 s left and need milliseconds.
    assert (outcomes["error"], outcomes["unchanged"]) == (1, 2), outcomes


def test_the_longest_probe_timeout_the_settings_check_allows_still_reads(many_branches, settings):
    from capomastro_changes.checks import check_settings

    _repo, sources = many_branches
    ids = sources(3)
    settings.CAPOMASTRO_CHANGES_CHECK_LOCK_TTL = 2.5
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 2.0  # exactly 0.8 × CHECK_LOCK_TTL
    assert check_settings() == []
    assert check_batch(ids)["unchanged"] == 3


def test_a_push_and_another_sweep_while_a_batch_runs_still_bring_the_source_back(
    many_branches, monkeypatch
):
    from django.utils import timezone

    from capomastro_changes.detection import batch
    from capomastro_changes.detection.sweep import due_sources, sweep

    repo, sources = many_branches
    [source_id] = sources(1)
    reads, pushed = batch.read_all, []

    def reads_then_a_push_and_a_tick(probes, *deadlines):
        answers = reads(probes, *deadlines)  # read, not yet written: the batch still holds it
        if not pushed:
            pushed.append(repo.commit("b0"))
            SourceState.objects.make_due([source_id])  # the push
            assert sweep() == [source_id]  # the next tick holds it again and sends it...
            assert check_batch([source_id])["busy"] == 1  # ...to a batch that finds it held
        return answers

    SourceState.objects.filter(pk=source_id).update(next_check_at=timezone.now())
    assert sweep() == [source_id]
    monkeypatch.setattr(batch, "read_all", reads_then_a_push_and_a_tick)
    assert check_batch([source_id])["unchanged"] == 1  # read before the push
    monkeypatch.undo()
    assert due_sources(timezone.now(), 10) == [source_id]  # the push is not lost
    assert check_batch([source_id])["changed"] == 1
    assert RebuildRequest.objects.get().revision == pushed[0]


def test_a_check_that_finds_its_source_held_leaves_it_due(many_branches):
    from django.utils import timezone

    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.detection.check import check_source
    from capomastro_changes.detection.sweep import due_sources

    _repo, sources = many_branches
    [source_id] = sources(1)
    token = keyspaces().checks.acquire(source_id)
    try:
        assert check_source(source_id) is None
    finally:
        keyspaces().checks.release(source_id, token)
    assert due_sources(timezone.now(), 10) == [source_id]


@pytest.mark.django_db(transaction=True)  # foreign keys are checked at commit
def test_a_source_deleted_while_its_batch_reads_spoils_no_other_result(
    many_branches, monkeypatch, caplog
):
    from capomastro_changes.detection import batch
    from capomastro_changes.models import Dependency, Source

    _repo, sources = many_branches
    ids = sources(6)
    reads = batch.read_all

    def reads_then_a_deletion(probes, *deadlines):
        answers = reads(probes, *deadlines)
        Dependency.objects.filter(source_id=ids[2]).delete()  # from the admin, meanwhile
        Source.objects.filter(pk=ids[2]).delete()
        return answers

    monkeypatch.setattr(batch, "read_all", reads_then_a_deletion)
    outcomes = check_batch(ids)
    kept = [i for i in ids if i != ids[2]]
    assert CheckRecord.objects.filter(source_id__in=kept, outcome="unchanged").count() == 5
    assert (outcomes["unchanged"], outcomes["gone"]) == (5, 1), outcomes
    assert "sources deleted while they were read: 1; the rest are written" in caplog.text


def test_the_batch_line_accounts_for_every_source_it_was_given(many_branches, caplog):
    _repo, sources = many_branches
    [source_id] = sources(1)
    outcomes = check_batch([source_id, source_id, 987654])
    assert (outcomes["unchanged"], outcomes["gone"]) == (1, 1), outcomes
    assert f"batch of 2 sources ({source_id}, 987654): 1 gone, 1 unchanged" in caplog.text


def test_a_read_that_ignores_its_deadline_holds_neither_the_batch_nor_the_next_one(
    many_branches, settings
):
    """bzr+ssh's ``ssh`` child can outlive every deadline of ours: the batch answers
    without it, on time, and the next batch still has all its readers."""
    import threading

    from capomastro_changes.detection.batch import read_all
    from capomastro_changes.detection.probing import prepared_probe

    _repo, sources = many_branches
    ids = sources(4)
    settings.CAPOMASTRO_CHANGES_CHECK_BATCH_THREADS = 2
    states = SourceState.objects.select_related("source").in_bulk(ids)
    probes = {i: prepared_probe(states[i].source, None, []) for i in ids}
    released = threading.Event()
    stuck = {**probes, ids[0]: lambda timeout=None: released.wait(30)}  # keeps no deadline
    try:
        began = time.monotonic()
        answers = read_all(stuck, began + 1.0, began + 1.5)
        took = time.monotonic() - began
        assert answers[ids[0]] is None and all(answers[i] for i in ids[1:]), answers
        assert took < 2.0, took  # gave up at 1.5 s, not after 30
        again = time.monotonic()
        assert all(read_all(probes, again + 1.0, again + 1.5).values())  # two readers again
        assert time.monotonic() - again < 1.0
    finally:
        released.set()


@pytest.mark.parametrize("forged", [[1.0], [True], ["1"], [None], 5, None, [[1]], [-1]])
def test_a_forged_task_argument_checks_nothing_and_takes_no_lock(many_branches, forged):
    from capomastro_changes import tasks
    from capomastro_changes.coordination.keyspaces import keyspaces

    _repo, sources = many_branches
    [source_id] = sources(1)  # source 1, the id the forged values equal in a query
    before = CheckRecord.objects.count()
    token = keyspaces().checks.acquire(source_id)
    try:
        assert tasks.check_batch.run(forged) == {"refused": 1}
        assert tasks.check_source.run(forged) is None
        assert tasks.check_source.run(987654) is None  # an id whose source is gone
    finally:
        keyspaces().checks.release(source_id, token)
    assert CheckRecord.objects.count() == before


def test_a_source_probed_through_jenkins_is_let_go_before_the_batch_reads(
    many_branches, monkeypatch
):
    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.detection import batch
    from capomastro_changes.models import JobType
    from capomastro_changes.testing.factories import make_job, make_jobtype

    _repo, sources = many_branches
    [healthy] = sources(1)
    through_jenkins = make_dependency(
        job=make_job(jobtype=make_jobtype(probe_runner=JobType.PROBE_JENKINS)),
        source=make_source("git", "git://git.example.com/j.git"),
    ).source_id
    reads, free_meanwhile = batch.read_all, []

    def reads_and_a_look_at_the_jenkins_source(probes, *deadlines):
        token = keyspaces().checks.acquire(through_jenkins)  # its own task can take it
        free_meanwhile.append(token is not None)
        if token:
            keyspaces().checks.release(through_jenkins, token)
        return reads(probes, *deadlines)

    monkeypatch.setattr(batch, "read_all", reads_and_a_look_at_the_jenkins_source)
    outcomes = check_batch([through_jenkins, healthy])
    assert (outcomes["to jenkins"], outcomes["unchanged"]) == (1, 1), outcomes
    assert free_meanwhile == [True]


def test_a_source_held_by_its_probe_in_jenkins_is_not_made_due_again(many_branches):
    """Its probe job may run for minutes; made due, it would start another at once."""
    from django.utils import timezone

    from capomastro_changes.detection import jenkins_check
    from capomastro_changes.detection.check import check_source
    from capomastro_changes.detection.sweep import due_sources
    from capomastro_changes.models import JobType
    from capomastro_changes.testing.factories import make_job, make_jobtype

    source_id = make_dependency(
        job=make_job(jobtype=make_jobtype(probe_runner=JobType.PROBE_JENKINS)),
        source=make_source("git", "git://git.example.com/j.git"),
    ).source_id
    later = timezone.now() + datetime.timedelta(minutes=2)
    SourceState.objects.filter(pk=source_id).update(next_check_at=later)
    token = jenkins_check.check_locks().acquire(source_id)  # its probe job is running
    try:
        assert check_batch([source_id])["busy"] == 1
        assert check_source(source_id) is None
    finally:
        jenkins_check.check_locks().release(source_id, token)
    assert due_sources(timezone.now(), 10) == []


@pytest.mark.django_db(transaction=True)  # the other batch has a connection of its own
def test_batches_side_by_side_in_one_process_do_not_share_readers(many_branches, settings):
    """Under a threads pool, a batch of hung sources takes none of another batch's readers."""
    import threading

    _repo, sources = many_branches
    healthy = sources(3)
    settings.CAPOMASTRO_CHANGES_CHECK_BATCH_THREADS = 3
    results = {}
    with servers.silent_server() as port:
        hung = [
            make_dependency(source=make_source("git", f"git://127.0.0.1:{port}/h{n}.git"))
            for n in range(3)
        ]

        def another_task_thread():
            results["hung"] = check_batch([d.source_id for d in hung])
            connection.close()

        beside = threading.Thread(target=another_task_thread)
        beside.start()
        time.sleep(0.2)  # its three reads are waiting on the silent server
        began = time.monotonic()
        results["healthy"] = check_batch(healthy)
        took = time.monotonic() - began
        beside.join()
    assert results["healthy"]["unchanged"] == 3
    assert took < 1.0, took  # not behind the hung reads' 2 s
    assert results["hung"]["error"] == 3


def test_a_source_another_check_holds_is_skipped_by_the_batch(many_branches, redis_client):
    from capomastro_changes.coordination.keyspaces import keyspaces

    _repo, sources = many_branches
    ids = sources(3)
    token = keyspaces().checks.acquire(ids[0])
    try:
        outcomes = check_batch(ids)
    finally:
        keyspaces().checks.release(ids[0], token)
    assert (outcomes["busy"], outcomes["unchanged"]) == (1, 2)


def test_batches_hold_every_due_source_once_and_share_them_among_workers():
    assert batches([1, 2, 2, 3, 4, 5], workers=2, largest=32) == [[1, 2, 3], [4, 5]]
    cut = batches(list(range(1000)), workers=2, largest=32)
    assert len(cut) == 32 and sorted(sum(cut, [])) == list(range(1000))
    assert batches([], workers=4, largest=32) == []
