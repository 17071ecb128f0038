"""Lost notifications are settled by the reaper; full rebuilds go through the same locks;
Jenkins dashboards say what changed and why."""

import pytest

from capomastro_changes.builds.reaper import reap
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Dependency, Job, RebuildRequest
from capomastro_changes.rebuilds.full import rebuild_everything
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, standin_server, stranded_in_trigger

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency(server, name, seconds=0, **fields):
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, **fields)


def state_of(request):
    request.refresh_from_db()
    return request.state


def test_a_build_whose_notifications_were_lost_is_settled_by_the_reaper(
    jenkins, engine_settings, celery_worker_process
):
    jenkins.faults.update(drop_notifications=1.0)
    dep = dependency(standin_server(jenkins), "libfoo")
    request = request_rebuild(dep, "rev-1", "change")
    wait_until(lambda: state_of(request) == "queued", timeout=20)
    wait_until(lambda: jenkins.build_log() and jenkins.build_log()[0].finished_at, timeout=20)
    assert keyspaces().locks.inspect(dep.pk).holder is not None  # nobody told us: still held
    engine_settings.CAPOMASTRO_CHANGES_REAP_AFTER = 0
    assert reap()["settled"] == 1
    request.refresh_from_db()
    assert request.state == "succeeded" and request.build.number == 1
    assert keyspaces().locks.inspect(dep.pk).holder is None
    assert reap()["settled"] == 0  # a second pass finds nothing to do


def test_a_full_rebuild_rebuilds_every_dependency_once_through_the_locks(
    jenkins, engine_settings, celery_worker_process
):
    server = standin_server(jenkins)
    deps = [dependency(server, f"pkg-{i}", last_built_revision=f"rev-{i}") for i in range(3)]
    assert rebuild_everything() == 3
    assert rebuild_everything() == 0  # already asked for: nothing twice
    wait_until(lambda: RebuildRequest.objects.filter(state="succeeded").count() == 3, timeout=30)
    assert sorted(r.parameters["REVISION"] for r in jenkins.build_log()) == [
        d.last_built_revision for d in deps
    ]
    assert set(RebuildRequest.objects.values_list("reason", flat=True)) == {"full"}


def test_the_jenkins_build_says_what_changed_and_why(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(standin_server(jenkins), "libfoo", seconds=1, last_built_revision="aaaa1")
    request = request_rebuild(dep, "bbbb2", "change", previous_revision="aaaa1")
    wait_until(lambda: state_of(request) == "succeeded", timeout=30)
    build = wait_until(lambda: jenkins.state.build("libfoo", 1).display_name and
                       jenkins.state.build("libfoo", 1), timeout=10)  # fmt: skip
    assert build.description == "libfoo: aaaa1 → bbbb2, change"
    assert "bbbb2" in build.display_name and "change" in build.display_name


def test_a_waiting_request_whose_waiting_slot_expired_is_dispatched_again_by_the_reaper(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(standin_server(jenkins), "libfoo")
    forgotten = RebuildRequest.objects.create(
        dependency=dep, revision="rev-9", reason="change", state="waiting", waiting_for="lock"
    )  # Redis no longer knows it: its waiting slot expired with a dead holder
    engine_settings.CAPOMASTRO_CHANGES_REAP_AFTER = 0
    assert reap()["redispatched"] == 1
    wait_until(lambda: state_of(forgotten) == "succeeded", timeout=30)
    assert [r.parameters["REVISION"] for r in jenkins.build_log()] == ["rev-9"]


def test_a_trigger_whose_answer_was_lost_is_found_in_jenkins_and_not_built_again(
    jenkins, engine_settings, celery_worker_process
):
    from capomastro_changes.jenkins.client import client_for
    from capomastro_changes.jenkins.configs import render_config

    jenkins.faults.update(drop_notifications=1.0)  # we hear nothing from Jenkins either
    dep = dependency(standin_server(jenkins), "libfoo")
    lost = stranded_in_trigger(dep)
    client = client_for(dep.job.server)  # Jenkins took it; the answer never reached us
    client.upsert_job(dep.job.name, render_config(dep.job))
    parameters = {"BUILD_ID": "", "REVISION": "rev-1", "PREVIOUS_REVISION": "",
                  "REASON": "change", "REQUEST_ID": str(lost.pk)}  # fmt: skip
    client.trigger(dep.job.name, parameters)
    wait_until(lambda: jenkins.build_log() and jenkins.build_log()[0].finished_at, timeout=20)
    assert reap()["settled"] == 1
    lost.refresh_from_db()
    assert lost.state == "succeeded" and lost.build.number == 1
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-1"
    assert keyspaces().locks.inspect(dep.pk).holder is None
    assert len(jenkins.build_log()) == 1
