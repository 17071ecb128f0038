"""A Jenkins list view per project, over real HTTP to the stand-in."""

from __future__ import annotations

import logging

import pytest

from capomastro_changes.builds import dashboards
from capomastro_changes.jenkins.list_views import (
    InvalidViewName,
    list_view_xml,
    listed_jobs,
    view_name,
)
from capomastro_changes.models import Project, ProjectDependency
from capomastro_changes.testing.factories import make_dependency, make_job, make_project
from capomastro_changes.testing.jenkins import JenkinsStandIn, pytest_fixtures
from capomastro_changes.testing.jenkins.pytest_fixtures import STANDIN_TOKEN
from capomastro_changes.testing.jenkins.view_state import NoSuchView
from capomastro_changes.testing.world import build_jobtype, standin_server

jenkins_standin = pytest_fixtures.jenkins_standin
pytestmark = pytest.mark.django_db


@pytest.fixture
def views_on(settings):
    settings.CAPOMASTRO_CHANGES_JENKINS_VIEWS = True
    return settings


@pytest.fixture
def server(jenkins_standin):
    return standin_server(jenkins_standin)


@pytest.fixture
def jobtype():
    return build_jobtype()


def dependency_on(server, jobtype, job: str):
    return make_dependency(job=make_job(server=server, jobtype=jobtype, name=job))


def jobs_in_view(standin, name: str) -> tuple[str, ...]:
    return standin.views.get(name).job_names


def outcomes(results) -> list[str]:
    return [result.outcome for result in results]


def test_a_project_with_two_dependencies_gets_a_view_listing_both_jobs(
    views_on, server, jobtype, jenkins_standin
):
    deps = [dependency_on(server, jobtype, job) for job in ("libfoo", "Bar")]
    project = make_project(deps, name="Widget")

    assert outcomes(dashboards.sync_project(project.pk)) == ["changed"]
    assert jobs_in_view(jenkins_standin, "Widget") == ("Bar", "libfoo")


def test_removing_a_dependency_takes_its_job_off_the_view(
    views_on, server, jobtype, jenkins_standin
):
    libfoo, libbar = (dependency_on(server, jobtype, job) for job in ("libfoo", "libbar"))
    project = make_project([libfoo, libbar], name="Widget")
    dashboards.sync_project(project.pk)

    ProjectDependency.objects.get(project=project, dependency=libbar).delete()

    assert outcomes(dashboards.sync_project(project.pk)) == ["changed"]
    assert jobs_in_view(jenkins_standin, "Widget") == ("libfoo",)


def test_syncing_again_changes_nothing(views_on, server, jobtype, jenkins_standin):
    make_project([dependency_on(server, jobtype, "libfoo")], name="Widget")
    assert outcomes(dashboards.sync_all_views()) == ["changed"]
    stored = jenkins_standin.views.get("Widget")

    assert outcomes(dashboards.sync_all_views()) == ["unchanged"]
    assert jenkins_standin.views.get("Widget") is stored


def test_with_views_off_nothing_is_created_in_jenkins(
    server, jobtype, jenkins_standin, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as sent:
        project = Project.objects.create(name="Widget")
        ProjectDependency.objects.create(
            project=project, dependency=dependency_on(server, jobtype, "libfoo")
        )

    assert sent == []
    assert dashboards.sync_all_views() == []
    assert [view.name for view in jenkins_standin.views.all()] == ["all"]


def test_saving_a_project_and_its_dependencies_keeps_the_view_in_step(
    views_on, server, jobtype, jenkins_standin, eager_celery, django_capture_on_commit_callbacks
):
    libfoo, libbar = (dependency_on(server, jobtype, job) for job in ("libfoo", "libbar"))
    with django_capture_on_commit_callbacks(execute=True):
        project = Project.objects.create(name="Widget")
        ProjectDependency.objects.create(project=project, dependency=libfoo)
    with django_capture_on_commit_callbacks(execute=True):
        project.dependencies.add(libbar)
    assert jobs_in_view(jenkins_standin, "Widget") == ("libbar", "libfoo")

    with django_capture_on_commit_callbacks(execute=True):
        project.dependencies.remove(libfoo)
    assert jobs_in_view(jenkins_standin, "Widget") == ("libbar",)


def test_a_renamed_project_moves_its_view_and_a_deleted_one_takes_it_away(
    views_on, server, jobtype, jenkins_standin, eager_celery, django_capture_on_commit_callbacks
):
    project = make_project([dependency_on(server, jobtype, "libfoo")], name="Widget")
    dashboards.sync_project(project.pk)

    with django_capture_on_commit_callbacks(execute=True):
        project.name = "Gadget"
        project.save()
    assert jobs_in_view(jenkins_standin, "Gadget") == ("libfoo",)
    with pytest.raises(NoSuchView):
        jenkins_standin.views.get("Widget")

    with django_capture_on_commit_callbacks(execute=True):
        project.delete()
    assert [view.name for view in jenkins_standin.views.all()] == ["all"]


def test_each_server_gets_a_view_of_the_jobs_it_runs(views_on, server, jobtype, jenkins_standin):
    with JenkinsStandIn(quiet_period=0) as other_standin:
        other = standin_server(other_standin, name="other")
        deps = [dependency_on(server, jobtype, "libfoo"), dependency_on(other, jobtype, "libbar")]
        project = make_project(deps, name="Widget")

        assert outcomes(dashboards.sync_project(project.pk)) == ["changed", "changed"]
        assert jobs_in_view(jenkins_standin, "Widget") == ("libfoo",)
        assert jobs_in_view(other_standin, "Widget") == ("libbar",)


def test_a_failing_jenkins_leaves_the_project_saved_and_logs_project_and_server(
    views_on, server, jobtype, jenkins_standin, eager_celery, django_capture_on_commit_callbacks,
    caplog,
):  # fmt: skip
    libfoo = dependency_on(server, jobtype, "libfoo")
    jenkins_standin.faults.update(error_rate=1.0)

    with caplog.at_level(logging.WARNING, logger="capomastro_changes"):
        with django_capture_on_commit_callbacks(execute=True):
            project = make_project([libfoo], name="Widget")

    assert Project.objects.filter(pk=project.pk, name="Widget").exists()
    [line] = [r.getMessage() for r in caplog.records if r.name.endswith("builds.dashboards")]
    assert "'Widget'" in line and "'stand-in'" in line and jenkins_standin.url in line
    assert "HTTP 500" in line
    assert STANDIN_TOKEN not in caplog.text


def test_a_project_name_jenkins_cannot_take_gets_no_view(
    views_on, server, jobtype, jenkins_standin, caplog
):
    project = make_project([dependency_on(server, jobtype, "libfoo")], name="tools/widget")

    assert outcomes(dashboards.sync_project(project.pk)) == ["refused"]
    assert "'tools/widget' gets no Jenkins view" in caplog.text
    assert [view.name for view in jenkins_standin.views.all()] == ["all"]


def test_a_view_someone_else_made_under_that_name_is_left_alone(
    views_on, server, jobtype, jenkins_standin, caplog
):
    jenkins_standin.views.create("Widget", b"<hudson.model.AllView/>")
    project = make_project([dependency_on(server, jobtype, "libfoo")], name="Widget")

    assert outcomes(dashboards.sync_project(project.pk)) == ["failed"]
    assert "not a list view" in caplog.text
    assert jenkins_standin.views.get("Widget").kind == "hudson.model.AllView"


@pytest.mark.parametrize("name", ["", "  ", "..", "a/b", "why?", "tab\there", "all", "All"])
def test_names_jenkins_would_refuse_are_refused(name):
    with pytest.raises(InvalidViewName):
        view_name(name)


def test_the_view_config_lists_the_jobs_sorted_as_jenkins_sorts_them():
    xml = list_view_xml("Widget & co", ["beta", "Alpha", "beta", "alpha"])

    assert "<name>Widget &amp; co</name>" in xml
    assert listed_jobs(xml) == ("Alpha", "alpha", "beta")


PROJECTS = "/admin/capomastro_changes/project/"


def test_the_admin_syncs_the_selected_projects_and_says_what_came_of_each_view(
    views_on, server, jobtype, jenkins_standin, admin_client
):
    project = make_project([dependency_on(server, jobtype, "libfoo")], name="Widget")
    # The signals' sync waits for a commit that never comes in this test: not synced yet.
    form = {"action": "sync_jenkins_views", "_selected_action": [project.pk]}

    first = admin_client.post(PROJECTS, form, follow=True)
    again = admin_client.post(PROJECTS, form, follow=True)

    assert jobs_in_view(jenkins_standin, "Widget") == ("libfoo",)
    said = [[str(m) for m in r.context["messages"]] for r in (first, again)]
    assert said == [
        ["Widget: view 'Widget' on stand-in changed"],
        ["Widget: view 'Widget' on stand-in unchanged"],
    ]


def test_with_views_off_the_admin_offers_no_sync(admin_client):
    assert b"sync_jenkins_views" not in admin_client.get(PROJECTS).content
