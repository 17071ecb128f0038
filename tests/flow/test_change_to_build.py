"""From a commit to exactly one Jenkins build, and complete project builds around it.

Real parts throughout: git and bzr repositories made here, a Celery worker
process on a Redis broker, the Jenkins stand-in over HTTP, and the
notification endpoint on a live server.
"""

import pytest

from capomastro_changes.detection import check
from capomastro_changes.models import (
    Build,
    Dependency,
    Job,
    Project,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
    RebuildRequest,
    Source,
)
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.repos import make_bzr, make_git
from capomastro_changes.testing.world import build_jobtype, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def make_world(jenkins, vcs_url, vcs="git", branch="main", seconds=0, policy="queue"):
    """Dependency ``libfoo`` on the source, ``libbar`` with a build of its own, two projects."""
    server = standin_server(jenkins)
    jobtype = build_jobtype(seconds=seconds)
    source = Source.objects.for_location(vcs, vcs_url, branch)
    foo = Dependency.objects.create(
        name="libfoo", job=Job.objects.create(server=server, jobtype=jobtype, name="libfoo"),
        source=source, busy_policy=policy,
    )  # fmt: skip
    bar_job = Job.objects.create(server=server, jobtype=jobtype, name="libbar")
    bar = Dependency.objects.create(name="libbar", job=bar_job)
    bar_build = Build.objects.create(job=bar_job, number=4, phase="FINALIZED", status="SUCCESS")
    for name in ("desktop", "server"):
        project = Project.objects.create(name=name)
        ProjectDependency.objects.create(project=project, dependency=foo)
        ProjectDependency.objects.create(project=project, dependency=bar, current_build=bar_build)
    return foo, bar_build


def check_now(source_id, times=1):
    for _ in range(times):
        check_source.delay(source_id)


def finished(dep):
    return RebuildRequest.objects.filter(dependency=dep, state__in=("succeeded", "failed")).first()


def builds_of(jenkins, job):
    return [r for r in jenkins.build_log() if r.job == job]


def assert_complete_project_builds(foo, bar_build, revision):
    built = Build.objects.get(job__name="libfoo", revision=revision)
    assert ProjectBuild.objects.count() == 2
    for pb in ProjectBuild.objects.all():
        links = {
            d.dependency.name: d for d in ProjectBuildDependency.objects.filter(projectbuild=pb)
        }
        assert (links["libfoo"].rebuilt, links["libfoo"].build_id) == (True, built.pk)
        assert (links["libbar"].rebuilt, links["libbar"].build_id) == (False, bar_build.pk)
        assert pb.status == "SUCCESS"
    assert built.artifacts.get().filename == "revision.txt"
    assert set(ProjectDependency.objects.filter(dependency=foo).values_list(
        "current_build", flat=True)) == {built.pk}  # fmt: skip


def test_a_git_commit_leads_to_exactly_one_build_and_linked_project_builds(
    tmp_path, jenkins, engine_settings, celery_worker_process
):
    repo = make_git(tmp_path, commits=0)
    first = repo.commit(message="first")
    foo, bar_build = make_world(jenkins, repo.bare.as_uri())
    check_now(foo.source_id)  # first sight: a baseline, nothing built
    wait_until(lambda: Dependency.objects.get(pk=foo.pk).last_built_revision, timeout=30)
    assert Dependency.objects.get(pk=foo.pk).last_built_revision == first
    new = repo.commit(message="second")
    check_now(foo.source_id)
    request = wait_until(lambda: finished(foo), timeout=30)
    assert (request.state, request.revision, request.previous_revision) == (
        "succeeded", new, first)  # fmt: skip
    assert [r.parameters["REVISION"] for r in builds_of(jenkins, "libfoo")] == [new]
    assert_complete_project_builds(foo, bar_build, new)


def test_a_bzr_commit_leads_to_exactly_one_build_and_linked_project_builds(
    tmp_path, jenkins, engine_settings, celery_worker_process
):
    branch = make_bzr(tmp_path / "trunk", commits=1)
    foo, bar_build = make_world(jenkins, branch.path.as_uri(), vcs="bzr", branch="")
    check_now(foo.source_id)
    wait_until(lambda: Dependency.objects.get(pk=foo.pk).last_built_revision, timeout=30)
    revno, revid = branch.commit("second")
    check_now(foo.source_id)
    request = wait_until(lambda: finished(foo), timeout=30)
    assert (request.state, request.revision, request.revno) == ("succeeded", revid, revno)
    assert [r.parameters["REVISION"] for r in builds_of(jenkins, "libfoo")] == [revid]
    assert_complete_project_builds(foo, bar_build, revid)


def checks_run_by(log) -> int:
    return log.read_text().count("capomastro_changes.check_source[")


def test_two_worker_processes_and_ten_ticks_over_one_change_build_it_once(
    tmp_path, jenkins, engine_settings, celery_worker_process, second_worker_process,
    worker_log, second_worker_log,
):  # fmt: skip
    repo = make_git(tmp_path, commits=1)
    foo, _ = make_world(jenkins, repo.bare.as_uri())
    check_now(foo.source_id)
    wait_until(lambda: Dependency.objects.get(pk=foo.pk).last_built_revision, timeout=30)
    new = repo.commit(message="second")
    before = checks_run_by(worker_log), checks_run_by(second_worker_log)
    check_now(foo.source_id, times=10)
    wait_until(lambda: finished(foo), timeout=30)
    wait_until(lambda: checks_run_by(worker_log) + checks_run_by(second_worker_log)
               >= sum(before) + 10, timeout=30)  # fmt: skip
    assert checks_run_by(worker_log) > before[0] and checks_run_by(second_worker_log) > before[1]
    for _ in range(3):  # and checks after the build find nothing to do
        assert check.check_source(foo.source_id).outcome == "unchanged"
    assert [r.parameters["REVISION"] for r in builds_of(jenkins, "libfoo")] == [new]
    assert RebuildRequest.objects.filter(dependency=foo).count() == 1
