"""The reaper with its default patience: Jenkins has forgotten the queue item by the time
it asks (five minutes after an item leaves the queue, all of them in a restart), so the
build is found by its request id, or the request is given up visibly and its change
comes back; a build still waiting in Jenkins' queue keeps its lock and slot."""

import time

import pytest

from capomastro_changes.builds.reaper import reap
from capomastro_changes.conf import settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.errors import JenkinsNotFound
from capomastro_changes.models import (
    Dependency,
    Job,
    Project,
    ProjectBuild,
    ProjectDependency,
    RebuildRequest,
)
from capomastro_changes.rebuilds import trigger
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, no_news_for, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency(server, name="libfoo", seconds=0, **fields):
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, **fields)


def state_of(request):
    request.refresh_from_db()
    return request.state


def forgotten(client, queue_id) -> bool:
    try:
        client.queue_item(queue_id)
    except JenkinsNotFound:
        return True
    return False


def silent_past_reap_after(request):
    """No news for longer than the default REAP_AFTER: the reaper's turn."""
    assert settings.REAP_AFTER == 600  # the default, not a test's shortcut
    no_news_for(request, settings.REAP_AFTER + 1)


def test_a_build_whose_queue_item_jenkins_forgot_is_found_by_its_request_id(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=0, left_item_ttl=0.2) as jenkins:
        jenkins.faults.update(drop_notifications=1.0)
        dep = dependency(standin_server(jenkins))
        request = request_rebuild(dep, "rev-1", "change")
        wait_until(lambda: state_of(request) == "queued", timeout=20)
        jenkins.wait_for_build("libfoo", 1, timeout=20)
        client = client_for(dep.job.server)
        wait_until(lambda: forgotten(client, request.jenkins_queue_id), timeout=10)
        silent_past_reap_after(request)
        assert reap()["settled"] == 1
        request.refresh_from_db()
        assert (request.state, request.build.number) == ("succeeded", 1)
        assert keyspaces().locks.inspect(dep.pk).holder is None
        assert reap()["settled"] == 0


def test_a_restart_that_lost_a_waiting_build_is_given_up_and_the_change_comes_back(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=60) as jenkins:
        dep = dependency(standin_server(jenkins), last_built_revision="rev-0")
        project = Project.objects.create(name="desktop")
        ProjectDependency.objects.create(project=project, dependency=dep)
        request = request_rebuild(dep, "rev-1", "change", previous_revision="rev-0")
        wait_until(lambda: state_of(request) == "queued", timeout=20)
        assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-1"  # accepted
        jenkins.restart()  # the queue is lost with the build in it
        silent_past_reap_after(request)
        assert reap()["settled"] == 1
        request.refresh_from_db()
        assert request.state == "error" and "no longer knows" in request.detail
        assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-0"  # found again
        assert keyspaces().locks.inspect(dep.pk).holder is None
        ended = ProjectBuild.objects.get(rebuild_request=request)
        assert (ended.status, ended.phase) == ("NOT_BUILT", "FINALIZED")  # not left hanging
        assert ended.ended_at is not None
        jenkins.queue.quiet_period = 0
        again = request_rebuild(dep, "rev-1", "change", previous_revision="rev-0")
        wait_until(lambda: state_of(again) == "succeeded", timeout=30)
        assert [r.parameters["REQUEST_ID"] for r in jenkins.build_log()] == [str(again.pk)]


def test_a_restart_that_killed_a_running_build_settles_it_from_the_aborted_build(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=0) as jenkins:
        jenkins.faults.update(drop_notifications=1.0, hang_builds=True)
        dep = dependency(standin_server(jenkins))
        request = request_rebuild(dep, "rev-1", "change")
        wait_until(lambda: state_of(request) == "queued" and jenkins.build_log(), timeout=20)
        jenkins.restart()
        assert jenkins.wait_for_build("libfoo", 1).result == "ABORTED"
        silent_past_reap_after(request)
        assert reap()["settled"] == 1
        request.refresh_from_db()
        assert request.state == "failed" and "ABORTED" in request.detail
        assert keyspaces().locks.inspect(dep.pk).holder is None


def test_a_build_waiting_in_jenkins_queue_keeps_its_lock_and_slot_past_their_ttl(
    engine_settings,
):
    engine_settings.CAPOMASTRO_CHANGES_BUILD_LOCK_TTL = 2
    with JenkinsStandIn(quiet_period=60) as jenkins:
        dep = dependency(standin_server(jenkins, max_builds_in_flight=1))
        request = RebuildRequest.objects.create(dependency=dep, revision="rev-1", reason="change")
        locks, _, slots = keyspaces()
        grant = locks.acquire(dep.pk, request.pk).grant
        assert slots.reserve(dep.job.server_id, request.pk, 1)
        RebuildRequest.objects.filter(pk=request.pk).update(
            state="triggering", lock_token=grant.token, fence=grant.fence
        )
        trigger.trigger(request.pk)
        assert state_of(request) == "queued"
        for _ in range(3):  # past the lock's 2 s, the reaper looking now and then
            time.sleep(0.9)
            silent_past_reap_after(request)
            assert reap()["settled"] == 0
        assert locks.inspect(dep.pk).holder.request == str(request.pk)
        assert not slots.reserve(dep.job.server_id, "another", 1)  # its slot is still taken
