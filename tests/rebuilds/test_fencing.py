"""Fencing: a request that lost its lock moves nothing. A trigger Jenkins answers after the
reaper gave up on it is withdrawn; a build that ends after its lock passed to another is
recorded but moves no shared state; and the reaper never gives up on a trigger that may
still be talking to Jenkins."""

import time

import pytest

from capomastro_changes import tasks
from capomastro_changes.builds.events import record_event
from capomastro_changes.builds.notifications import FINALIZED, STARTED, BuildEvent
from capomastro_changes.builds.reaper import reap
from capomastro_changes.conf import TRIGGER_JENKINS_CALLS, settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Build, Dependency, Job, ProjectDependency, RebuildRequest
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.factories import make_dependency, make_project
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, no_news_for, standin_server


def state_of(request):
    request.refresh_from_db()
    return request.state


def detail_of(request):
    request.refresh_from_db()
    return request.detail


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_trigger_jenkins_takes_after_the_reaper_gave_up_is_withdrawn_and_built_once(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=2) as jenkins:
        server = standin_server(jenkins)
        job = Job.objects.create(server=server, jobtype=build_jobtype("libfoo"), name="libfoo")
        dep = Dependency.objects.create(name="libfoo", job=job, last_built_revision="rev-0")
        jenkins.faults.update(trigger_delay=3.0)  # the trigger is slow to reach Jenkins' queue
        late = request_rebuild(dep, "rev-1", "change", previous_revision="rev-0")
        wait_until(lambda: state_of(late) == "triggering", timeout=20)
        time.sleep(0.5)  # its POST is on its way
        no_news_for(late, settings.trigger_stall_after() + 1)
        assert reap()["settled"] == 1  # Jenkins knows nothing of it yet: given up
        assert state_of(late) == "error" and "interrupted" in late.detail
        jenkins.faults.update(trigger_delay=0.0)
        wait_until(lambda: "cancelled" in detail_of(late), timeout=20)  # Jenkins took it late
        assert "lost its lock" in late.detail and late.state == "error"
        again = request_rebuild(dep, "rev-1", "change", previous_revision="rev-0")
        wait_until(lambda: state_of(again) == "succeeded", timeout=30)
        assert [r.parameters["REQUEST_ID"] for r in jenkins.build_log()] == [str(again.pk)]


def event(request, phase, status=None):
    return BuildEvent(
        job_name=request.dependency.job.name, number=1, phase=phase, raw_phase=phase,
        status=status, parameters={"REQUEST_ID": str(request.pk), "REVISION": request.revision},
    )  # fmt: skip


@pytest.fixture
def locks(redis_client, key_prefix, settings):
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    return keyspaces().locks


def holding(locks, dep, revision, state="building"):
    request = RebuildRequest.objects.create(dependency=dep, revision=revision, reason="change")
    grant = locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state=state, lock_token=grant.token, fence=grant.fence
    )
    request.refresh_from_db()
    return request


@pytest.mark.django_db
def test_a_build_that_ends_after_its_lock_passed_on_moves_nothing_shared(locks):
    dep = make_dependency(last_built_revision="rev-0")
    project = make_project([dep])
    old = holding(locks, dep, "rev-1")
    time.sleep(0.01)
    locks.client.delete(locks.lock_key(dep.pk))  # its lock expired...
    new = holding(locks, dep, "rev-2")  # ...and a newer request took it (a higher fence)
    record_event(dep.job.server, event(old, STARTED))
    assert state_of(old) == "building" and "lock passed on" in old.detail
    record_event(dep.job.server, event(old, FINALIZED, "SUCCESS"))
    old.refresh_from_db()
    assert old.state == "succeeded" and "newer holder" in old.detail
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-0"
    assert ProjectDependency.objects.get(project=project).current_build is None
    assert Build.objects.get(job=dep.job, number=1).fence is None  # not fenced as its own
    assert locks.inspect(dep.pk).holder.request == str(new.pk)  # the newer one keeps its lock


@pytest.mark.django_db
def test_the_holders_build_still_settles_as_before(locks):
    dep = make_dependency(last_built_revision="rev-0")
    request = holding(locks, dep, "rev-1")
    record_event(dep.job.server, event(request, FINALIZED, "SUCCESS"))
    assert state_of(request) == "succeeded"
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-1"
    assert locks.inspect(dep.pk).holder is None


@pytest.mark.django_db
def test_the_reaper_leaves_a_trigger_alone_as_long_as_a_trigger_can_take(locks):
    worst = TRIGGER_JENKINS_CALLS * settings.JENKINS_TIMEOUT
    assert tasks.trigger_request.time_limit >= worst
    assert settings.trigger_stall_after() > tasks.trigger_request.time_limit
    dep = make_dependency()
    request = holding(locks, dep, "rev-1", state="triggering")
    no_news_for(request, settings.TRIGGER_STALL_AFTER + 1)  # slow, but it may still answer
    assert reap()["asked"] == 0
    assert state_of(request) == "triggering"
    assert locks.inspect(dep.pk).holder.request == str(request.pk)
