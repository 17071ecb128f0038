"""Every dependency ends built at its source's tip, whatever its history and busy policy.

Real parts: git and bzr repositories made here, a Celery worker process, the
Jenkins stand-in over HTTP and the notification endpoint on a live server.
"""

import pytest

from capomastro_changes.detection import check
from capomastro_changes.models import Dependency, Job, JobType, RebuildRequest, Source
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.factories import make_dependency
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.repos import make_bzr, make_git
from capomastro_changes.testing.world import BUILD_PARAMETERS, build_jobtype, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dependency_on(jenkins, vcs, url, branch="main", seconds=0, policy="queue"):
    job = Job.objects.create(
        server=standin_server(jenkins), jobtype=build_jobtype(seconds=seconds), name="libfoo"
    )
    source = Source.objects.for_location(vcs, url, branch)
    return Dependency.objects.create(name="libfoo", job=job, source=source, busy_policy=policy)


def built(jenkins):
    return [r.parameters["REVISION"] for r in jenkins.build_log() if r.job == "libfoo"]


def settled(dep, revision):
    """Wait until ``revision`` was built and nothing of ``dep`` is active any more."""
    done = RebuildRequest.objects.filter(dependency=dep, revision=revision, state="succeeded")

    def quiet():
        return done.exists() and not RebuildRequest.objects.active().filter(dependency=dep)

    wait_until(quiet, timeout=40)


def build_through_a_check(dep, jenkins, revision):
    check_source.delay(dep.source_id)
    settled(dep, revision)


def test_a_force_push_back_to_an_already_built_commit_builds_it_once_more(
    tmp_path, jenkins, engine_settings, celery_worker_process
):
    repo = make_git(tmp_path, commits=1)
    dep = dependency_on(jenkins, "git", repo.bare.as_uri())
    assert check.check_source(dep.source_id).outcome == "baseline"
    a = repo.commit(message="A")
    build_through_a_check(dep, jenkins, a)
    b = repo.commit(message="B, soon withdrawn")
    build_through_a_check(dep, jenkins, b)
    assert repo.force_back(a) == a
    assert check.check_source(dep.source_id).outcome == "rewritten"
    wait_until(lambda: built(jenkins) == [a, b, a], timeout=40)
    settled(dep, a)
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == a
    for _ in range(2):  # built at the tip now: later checks ask for nothing
        assert check.check_source(dep.source_id).outcome == "unchanged"
    assert built(jenkins) == [a, b, a]
    again = RebuildRequest.objects.filter(dependency=dep, revision=a).first()
    assert (again.reason, again.state, again.previous_revision) == ("rewritten", "succeeded", b)


def test_a_bzr_uncommit_back_to_an_already_built_revno_builds_it_once_more(
    tmp_path, jenkins, engine_settings, celery_worker_process
):
    branch = make_bzr(tmp_path / "trunk", commits=1)
    dep = dependency_on(jenkins, "bzr", branch.path.as_uri(), branch="")
    assert check.check_source(dep.source_id).outcome == "baseline"
    _, two = branch.commit("two")
    build_through_a_check(dep, jenkins, two)
    _, three = branch.commit("three, soon uncommitted")
    build_through_a_check(dep, jenkins, three)
    assert branch.uncommit() == (2, two)
    assert check.check_source(dep.source_id).outcome == "rewritten"
    wait_until(lambda: built(jenkins) == [two, three, two], timeout=40)
    settled(dep, two)
    now = Dependency.objects.get(pk=dep.pk)
    assert (now.last_built_revision, now.last_built_revno) == (two, 2)
    assert check.check_source(dep.source_id).outcome == "unchanged"
    assert built(jenkins) == [two, three, two]


@pytest.mark.parametrize("policy, dropped", [("discard", "discarded"), ("fail", "refused")])
def test_a_change_dropped_while_building_is_built_once_the_lock_is_free_exactly_once(
    tmp_path, jenkins, engine_settings, celery_worker_process, policy, dropped
):
    repo = make_git(tmp_path, commits=1)
    dep = dependency_on(jenkins, "git", repo.bare.as_uri(), seconds=3, policy=policy)
    assert check.check_source(dep.source_id).outcome == "baseline"
    first = repo.commit(message="first")
    check.check_source(dep.source_id)
    building = RebuildRequest.objects.get(dependency=dep, revision=first)
    wait_until(lambda: RebuildRequest.objects.get(pk=building.pk).state == "building", timeout=20)
    tip = repo.commit(message="second, while the first builds")
    for _ in range(3):  # every check during the build: the policy answers once
        check.check_source(dep.source_id)
        wait_until(lambda: not RebuildRequest.objects.waiting().filter(dependency=dep), 20)
    assert list(RebuildRequest.objects.filter(revision=tip).values_list("state", flat=True)) == [
        dropped]  # fmt: skip
    settled(dep, first)
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == first  # behind its source
    check.check_source(dep.source_id)  # the lock is free: the next check asks for the tip
    settled(dep, tip)
    for _ in range(2):
        check.check_source(dep.source_id)
    assert built(jenkins) == [first, tip]
    states = RebuildRequest.objects.filter(revision=tip).order_by("pk").values_list("state")
    assert [s for (s,) in states] == [dropped, "succeeded"]


def status_of(client, settings, source_id):
    settings.CAPOMASTRO_CHANGES_API_TOKENS = ["convergence-token"]
    auth = {"Authorization": "Bearer convergence-token"}
    response = client.get(f"/changes/status/sources/{source_id}/", headers=auth)
    metrics = client.get("/changes/metrics/", headers=auth).content.decode()
    return response.json()["dependencies"][0]["behind_source"], metrics


def test_a_dependency_whose_builds_fail_shows_as_behind_its_source_with_the_reason(
    tmp_path, jenkins, engine_settings, celery_worker_process, client, admin_client
):
    repo = make_git(tmp_path, commits=1)
    dep = dependency_on(jenkins, "git", repo.bare.as_uri())
    failing = freestyle_job_xml(
        'echo "no compiler here"; exit 1',
        parameters=BUILD_PARAMETERS,
        notify=["{{ notifications_url }}"],
    )
    JobType.objects.filter(pk=dep.job.jobtype_id).update(config_xml=failing)
    assert check.check_source(dep.source_id).outcome == "baseline"
    behind, metrics = status_of(client, engine_settings, dep.source_id)
    assert behind["behind"] is False and 'dependencies_behind{reason="builds fail"} 0.0' in metrics
    tip = repo.commit(message="does not build")
    check.check_source(dep.source_id)
    failed = RebuildRequest.objects.filter(dependency=dep, revision=tip, state="failed")
    wait_until(failed.exists, timeout=40)
    behind, metrics = status_of(client, engine_settings, dep.source_id)
    assert (behind["behind"], behind["stuck"], behind["reason"]) == (True, True, "builds fail")
    assert behind["since"] and "FAILURE" in behind["detail"]
    assert 'dependencies_behind{reason="builds fail"} 1.0' in metrics
    page = admin_client.get(f"/admin/capomastro_changes/dependency/{dep.pk}/change/")
    assert "builds fail" in page.content.decode()
    listing = admin_client.get("/admin/capomastro_changes/dependency/").content.decode()
    assert "cc-builds fail" in listing
    check.check_source(dep.source_id)  # a failing build is not retried by every check
    assert RebuildRequest.objects.filter(dependency=dep).count() == 1


def test_a_dependency_with_change_builds_off_shows_as_behind_its_source(
    tmp_path, client, engine_settings
):
    repo = make_git(tmp_path, commits=1)
    source = Source.objects.for_location("git", repo.bare.as_uri(), "main")
    dep = make_dependency(name="libfoo", source=source)
    assert check.check_source(source.pk).outcome == "baseline"
    Dependency.objects.filter(pk=dep.pk).update(changes_enabled=False)
    repo.commit(message="not built: change builds are off")
    check.check_source(source.pk)
    behind, metrics = status_of(client, engine_settings, source.pk)
    assert (behind["reason"], behind["stuck"]) == ("changes disabled", True)
    assert "change builds are off" in behind["detail"]
    assert 'dependencies_behind{reason="changes disabled"} 1.0' in metrics
