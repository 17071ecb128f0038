"""A request for a dependency that is already building: queued, discarded, refused or
superseding, per dependency; and a global cap on builds in flight."""

import pytest
from django.db import transaction

from capomastro_changes.models import Dependency, Job, RebuildRequest
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency(jenkins, name="libfoo", seconds=1.5, policy="queue", **fields):
    server = fields.pop("server", None) or standin_server(jenkins)
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, busy_policy=policy, **fields)


def state_of(request):
    request.refresh_from_db()
    return request.state


def built_revisions(jenkins, job="libfoo"):
    return [r.parameters["REVISION"] for r in jenkins.build_log() if r.job == job]


def most_at_once(runs) -> int:
    """The largest number of builds running at the same instant."""
    edges = sorted([(r.started_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs])
    running = peak = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        running += step
        peak = max(peak, running)
    return peak


def building(request):
    return wait_until(lambda: state_of(request) == "building", timeout=20)


def test_changes_during_a_build_queue_one_build_of_the_newest_revision(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(jenkins)
    first = request_rebuild(dep, "rev-1", "change")
    building(first)
    second = request_rebuild(dep, "rev-2", "change")
    wait_until(lambda: state_of(second) == "waiting", timeout=20)
    third = request_rebuild(dep, "rev-3", "change")
    wait_until(lambda: state_of(third) in ("waiting", "building", "succeeded"), timeout=20)
    wait_until(lambda: state_of(third) == "succeeded", timeout=30)
    second.refresh_from_db()
    assert (second.state, second.superseded_by_id) == ("superseded", third.pk)
    assert built_revisions(jenkins) == ["rev-1", "rev-3"]
    runs = [r for r in jenkins.build_log() if r.job == "libfoo"]
    assert runs[0].finished_at <= runs[1].started_at  # never two at once


def test_discard_records_a_quiet_skip_and_builds_nothing_more(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(jenkins, policy="discard")
    first = request_rebuild(dep, "rev-1", "change")
    building(first)
    second = request_rebuild(dep, "rev-2", "change")
    wait_until(lambda: state_of(second) == "discarded", timeout=20)
    assert "discarded" in second.detail
    wait_until(lambda: state_of(first) == "succeeded", timeout=30)
    assert built_revisions(jenkins) == ["rev-1"]


def test_fail_records_an_error_that_names_the_policy(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(jenkins, policy="fail")
    first = request_rebuild(dep, "rev-1", "change")
    building(first)
    second = request_rebuild(dep, "rev-2", "change")
    wait_until(lambda: state_of(second) == "refused", timeout=20)
    assert f"request #{first.pk}" in second.detail and "'fail'" in second.detail
    wait_until(lambda: state_of(first) == "succeeded", timeout=30)
    assert built_revisions(jenkins) == ["rev-1"]


def test_supersede_cancels_the_build_still_waiting_in_jenkins_queue(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=3, executors=1) as jenkins:
        dep = dependency(jenkins, policy="supersede", seconds=0)
        first = request_rebuild(dep, "rev-1", "change")
        wait_until(lambda: state_of(first) == "queued", timeout=20)
        second = request_rebuild(dep, "rev-2", "change")
        wait_until(lambda: state_of(second) == "succeeded", timeout=30)
        first.refresh_from_db()
        assert (first.state, first.superseded_by_id) == ("superseded", second.pk)
        assert "cancelled in Jenkins' queue" in first.detail
        assert built_revisions(jenkins) == ["rev-2"]


def test_supersede_leaves_a_build_alone_when_jenkins_cannot_confirm_the_cancel(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(jenkins, policy="supersede", seconds=3)
    first = request_rebuild(dep, "rev-1", "change")
    building(first)
    # As supersede may find it: STARTED lost, and a queue item Jenkins no longer knows
    # (it forgets items five minutes after they leave the queue). It is building.
    RebuildRequest.objects.filter(pk=first.pk).update(state="queued", jenkins_queue_id=4242)
    second = request_rebuild(dep, "rev-2", "change")
    wait_until(lambda: state_of(second) not in ("pending",), timeout=20)
    assert second.state == "waiting" and f"request #{first.pk}" in second.detail
    wait_until(lambda: state_of(second) == "succeeded", timeout=30)
    assert state_of(first) == "succeeded"
    assert built_revisions(jenkins) == ["rev-1", "rev-2"]
    assert most_at_once(jenkins.build_log()) == 1  # the second waited for the first


def test_with_a_cap_of_two_never_more_than_two_build_and_all_are_built_by_priority(
    jenkins, engine_settings, celery_worker_process
):
    server = standin_server(jenkins, max_builds_in_flight=2)
    deps = [
        dependency(jenkins, name=f"pkg-{i}", seconds=0.5, server=server, priority=i)
        for i in range(10)
    ]
    with transaction.atomic():  # ten changes found at once, lowest priority first
        requests = [request_rebuild(dep, "rev-1", "change") for dep in deps]
    wait_until(lambda: all(state_of(r) == "succeeded" for r in requests), timeout=60)
    runs = sorted(jenkins.build_log(), key=lambda r: r.started_at)
    assert len(runs) == 10
    timeline = [(r.job, round(r.started_at % 100, 3), round(r.finished_at % 100, 3)) for r in runs]
    assert most_at_once(runs) == 2, timeline
    order = [int(r.job.split("-")[1]) for r in runs]
    assert set(order[:2]) == {9, 8}, timeline  # the highest priorities take the free slots
    # Highest priority first throughout; two slots freed at the same moment dispatch
    # two requests together, and which of those Jenkins starts first is a race.
    for position, priority in enumerate(order):
        assert abs(position - (9 - priority)) <= 1, timeline


def test_commits_while_every_slot_is_taken_build_only_the_newest_per_dependency(
    jenkins, engine_settings, celery_worker_process
):
    server = standin_server(jenkins, max_builds_in_flight=1)
    busy = dependency(jenkins, name="compiler", seconds=2, server=server)
    queued = dependency(jenkins, name="libfoo", seconds=0, server=server)
    quiet = dependency(jenkins, name="libbar", seconds=0, server=server, policy="discard")
    building(request_rebuild(busy, "c-1", "change"))  # the one slot is taken
    older = request_rebuild(queued, "rev-1", "change")
    wait_until(lambda: state_of(older) == "waiting", timeout=20)
    newer = request_rebuild(queued, "rev-2", "change")
    first = request_rebuild(quiet, "rev-1", "change")
    wait_until(lambda: state_of(first) == "waiting", timeout=20)
    second = request_rebuild(quiet, "rev-2", "change")
    wait_until(lambda: state_of(newer) == "succeeded" and state_of(first) == "succeeded", 40)
    older.refresh_from_db()
    assert (older.state, older.superseded_by_id) == ("superseded", newer.pk)
    assert state_of(second) == "discarded"
    assert built_revisions(jenkins, "libfoo") == ["rev-2"]
    assert built_revisions(jenkins, "libbar") == ["rev-1"]
