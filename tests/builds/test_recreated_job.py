"""A Jenkins job deleted and created again numbers its builds from 1 again: the new #1 is
a new build, not a replay of the old one. It settles its request, by notification or by
the reaper, and the old build keeps its links and artifacts under an earlier-job record."""

import pytest

from capomastro_changes.builds.reaper import reap
from capomastro_changes.conf import settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Build, Dependency, Job, ProjectBuildDependency
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.factories import make_project
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, no_news_for, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def state_of(request):
    request.refresh_from_db()
    return request.state


def built_once_then_recreated(jenkins):
    """libfoo built once (#1), then its Jenkins job deleted: the next trigger creates it."""
    server = standin_server(jenkins)
    job = Job.objects.create(server=server, jobtype=build_jobtype("libfoo"), name="libfoo")
    dep = Dependency.objects.create(name="libfoo", job=job)
    make_project([dep])
    first = request_rebuild(dep, "rev-1", "change")
    wait_until(lambda: state_of(first) == "succeeded", timeout=30)
    jenkins.state.delete_job("libfoo")
    return dep, first


def test_the_first_build_of_a_recreated_job_settles_its_request(
    jenkins, engine_settings, celery_worker_process
):
    dep, first = built_once_then_recreated(jenkins)
    second = request_rebuild(dep, "rev-2", "change", previous_revision="rev-1")
    wait_until(lambda: state_of(second) == "succeeded", timeout=30)
    first.refresh_from_db()
    assert (second.build.job.name, second.build.number) == ("libfoo", 1)
    assert second.build.revision == "rev-2" and second.build_id != first.build_id
    assert first.build.job.name == "libfoo (earlier job 1)"
    assert (first.build.number, first.build.revision) == (1, "rev-1")
    assert first.build.artifacts.get().filename == "revision.txt"
    links = ProjectBuildDependency.objects.filter(projectbuild__rebuild_request=first)
    assert [link.build_id for link in links] == [first.build_id]
    assert Dependency.objects.get(pk=dep.pk).last_built_revision == "rev-2"


def test_the_reaper_settles_it_too_and_counts_only_what_moved(
    jenkins, engine_settings, celery_worker_process
):
    dep, _ = built_once_then_recreated(jenkins)
    jenkins.faults.update(drop_notifications=1.0)
    second = request_rebuild(dep, "rev-2", "change", previous_revision="rev-1")
    wait_until(lambda: state_of(second) == "queued", timeout=20)
    jenkins.wait_for_build("libfoo", 1, timeout=20)
    no_news_for(second, settings.REAP_AFTER + 1)
    assert reap()["settled"] == 1
    assert state_of(second) == "succeeded" and second.build.revision == "rev-2"
    assert keyspaces().locks.inspect(dep.pk).holder is None
    assert Build.objects.filter(job__name="libfoo", number=1).count() == 1
