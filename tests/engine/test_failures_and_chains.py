"""Nothing lost when Jenkins refuses or a worker dies; chains build in order and stop on
failure."""

import pytest

from capomastro_changes.models import ChainLink, Dependency, Job, RebuildRequest
from capomastro_changes.reaper import reap
from capomastro_changes.rebuilds import request_rebuild
from capomastro_changes.redis_connection import coordination
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, standin_server, stranded_in_trigger

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency(server, name, seconds=0, **fields):
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, **fields)


def settled(request, states=("succeeded", "failed", "error")):
    request.refresh_from_db()
    return request.state in states


def lock_let_go(dep) -> bool:
    """The worker records a request's end first and lets its lock go a moment later."""
    return coordination()[0].inspect(dep.pk).holder is None


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


def test_a_request_stranded_mid_trigger_is_settled_by_the_reaper_and_built_once(
    jenkins, engine_settings, celery_worker_process
):
    dep = dependency(standin_server(jenkins), "libfoo")
    stranded = stranded_in_trigger(dep)  # a worker took the lock, then died
    counts = reap()
    assert counts["settled"] == 1
    stranded.refresh_from_db()
    assert stranded.state == "error" and "interrupted" in stranded.detail
    assert coordination()[0].inspect(dep.pk).holder is None
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
