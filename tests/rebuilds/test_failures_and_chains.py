"""Nothing lost when Jenkins refuses or a worker dies; chains build in order and stop on
failure."""

import os
import signal

import pytest

from capomastro_changes.builds.reaper import reap
from capomastro_changes.conf import settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import ChainLink, Dependency, Job, RebuildRequest
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.workers import pool_pids
from capomastro_changes.testing.world import (
    build_jobtype,
    no_news_for,
    standin_server,
    stranded_in_trigger,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency(server, name, seconds=0, **fields):
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, **fields)


def settled(request, states=("succeeded", "failed", "error")):
    request.refresh_from_db()
    return request.state in states


def lock_let_go(dep) -> bool:
    """The worker records a request's end first and lets its lock go a moment later."""
    return keyspaces().locks.inspect(dep.pk).holder is None


def test_a_trigger_refused_by_jenkins_moves_nothing_and_frees_the_lock(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(standin_server(jenkins), "libfoo", last_built_revision="rev-0")
    jenkins.faults.fail_next(1, status=500)
    request = request_rebuild(dep, "rev-1", "change")
    wait_until(lambda: settled(request), timeout=20)
    assert request.state == "error" and "Jenkins" in request.detail and "500" in request.detail
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-0"
    wait_until(lambda: lock_let_go(dep), timeout=5)
    assert not jenkins.build_log()
    again = request_rebuild(dep, "rev-1", "change")  # what the next check does
    wait_until(lambda: settled(again), timeout=20)
    assert again.state == "succeeded"
    assert [r.parameters["REVISION"] for r in jenkins.build_log()] == ["rev-1"]


def test_an_unreachable_jenkins_is_recorded_and_nothing_is_held(
    engine_settings, celery_worker_process
):
    from capomastro_changes.models import JenkinsServer

    server = JenkinsServer.objects.create(name="gone", url="http://127.0.0.1:9/")
    dep = dependency(server, "libfoo")
    request = request_rebuild(dep, "rev-1", "change")
    wait_until(lambda: settled(request), timeout=30)
    assert request.state == "error" and "unreachable" in request.detail
    wait_until(lambda: lock_let_go(dep), timeout=5)


def test_a_worker_killed_while_jenkins_takes_its_trigger_leaves_one_build(jenkins, spare_worker):
    jenkins.faults.update(drop_notifications=1.0, trigger_latency=5.0)  # we hear nothing
    dep = dependency(standin_server(jenkins), "libfoo", last_built_revision="rev-0")
    request = request_rebuild(dep, "rev-1", "change", previous_revision="rev-0")
    wait_until(lambda: jenkins.build_log(), timeout=20)  # Jenkins took it; no answer yet
    assert settled(request, ("triggering",))
    (child,) = pool_pids(spare_worker.pid)
    os.kill(child, signal.SIGKILL)  # the worker dies with the trigger in its hands
    jenkins.faults.update(trigger_latency=0.0)
    jenkins.wait_for_build("libfoo", 1, timeout=20)
    assert settled(request, ("triggering",))  # the lock is still held by the dead trigger
    no_news_for(request, settings.trigger_stall_after() + 1)
    assert reap()["settled"] == 1  # found in Jenkins by its request id, and adopted
    assert settled(request, ("succeeded",))
    # The next check finds rev-1 built: it asks for nothing more.
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-1"
    assert keyspaces().locks.inspect(dep.pk).holder is None
    assert reap()["settled"] == 0
    assert [r.parameters["REVISION"] for r in jenkins.build_log()] == ["rev-1"]


def test_a_trigger_that_never_reached_jenkins_is_given_up_and_built_on_the_next_check(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(standin_server(jenkins), "libfoo")
    stranded = stranded_in_trigger(dep)  # a worker took the lock, then died before asking
    counts = reap()
    assert counts["settled"] == 1
    stranded.refresh_from_db()
    assert stranded.state == "error" and "interrupted" in stranded.detail
    assert keyspaces().locks.inspect(dep.pk).holder is None
    retry = request_rebuild(dep, "rev-1", "change")
    wait_until(lambda: settled(retry), timeout=20)
    assert [r.parameters["REVISION"] for r in jenkins.build_log()] == ["rev-1"]


def test_a_chain_of_three_is_rebuilt_in_order(jenkins, engine_settings, celery_worker_process):
    server = standin_server(jenkins)
    compiler, libc, pkgmgr = (dependency(server, n, 0.3) for n in ("compiler", "libc", "pkgmgr"))
    ChainLink.objects.create(upstream=compiler, dependency=libc)
    ChainLink.objects.create(upstream=libc, dependency=pkgmgr)
    ChainLink.objects.create(upstream=compiler, dependency=pkgmgr)
    request_rebuild(compiler, "rev-1", "change")
    wait_until(lambda: RebuildRequest.objects.filter(
        dependency=pkgmgr, state="succeeded").exists(), timeout=40)  # fmt: skip
    runs = sorted(jenkins.build_log(), key=lambda r: r.started_at)
    assert [r.job for r in runs] == ["compiler", "libc", "pkgmgr"]
    assert all(a.finished_at <= b.started_at for a, b in zip(runs, runs[1:]))
    assert RebuildRequest.objects.get(dependency=pkgmgr).reason == "upstream"


def test_an_upstream_rebuilt_while_its_downstream_builds_rebuilds_the_downstream_after(
    jenkins, engine_settings, celery_worker_process
):
    server = standin_server(jenkins)
    compiler, libc = dependency(server, "compiler", 0), dependency(server, "libc", 3)
    ChainLink.objects.create(upstream=compiler, dependency=libc)
    building = request_rebuild(libc, "libc-1", "change")  # libc builds, against the old compiler
    wait_until(lambda: settled(building, ("building",)), timeout=20)
    upstream = request_rebuild(compiler, "c-2", "change")
    wait_until(lambda: settled(upstream, ("succeeded",)) and "chain:" in upstream.detail, 20)
    assert "libc was in flight" in upstream.detail  # the same revision is active: said so
    building.refresh_from_db()  # still building (3 s): the note is kept in the database
    assert (building.state, building.again_for_id) == ("building", upstream.pk)
    wait_until(lambda: RebuildRequest.objects.filter(dependency=libc, state="succeeded")
               .count() == 2, timeout=40)  # fmt: skip
    again = RebuildRequest.objects.filter(dependency=libc).exclude(pk=building.pk).get()
    assert RebuildRequest.objects.get(pk=building.pk).again_for_id is None  # taken, once
    assert (again.reason, again.upstream_request_id, again.revision) == (
        "upstream", upstream.pk, "libc-1")  # fmt: skip
    libc_runs = [r for r in jenkins.build_log() if r.job == "libc"]
    compiler_run = next(r for r in jenkins.build_log() if r.job == "compiler")
    assert len(libc_runs) == 2 and libc_runs[1].started_at >= compiler_run.finished_at


def test_a_failed_upstream_stops_the_chain_and_says_so(
    jenkins, engine_settings, celery_worker_process
):
    server = standin_server(jenkins)
    broken = dependency(server, "compiler")
    broken.job.jobtype.config_xml = broken.job.jobtype.config_xml.replace("sleep 0", "exit 1")
    broken.job.jobtype.save()
    libc = dependency(server, "libc")
    ChainLink.objects.create(upstream=broken, dependency=libc)
    request = request_rebuild(broken, "rev-1", "change")
    wait_until(lambda: settled(request), timeout=20)
    assert request.state == "failed" and "chain stopped" in request.detail
    assert not RebuildRequest.objects.filter(dependency=libc).exists()
