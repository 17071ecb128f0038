"""The status endpoints: what a dashboard polling a source or a project sees, in a
fixed number of queries, with no password or lock token in it."""

import pytest
from django.utils import timezone

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.coordination.locks import BusyPolicy
from capomastro_changes.models import (
    Build,
    ProjectBuild,
    ProjectDependency,
    RebuildRequest,
    SourceState,
)
from capomastro_changes.testing.factories import make_dependency, make_project, make_source

pytestmark = pytest.mark.django_db


def get(client, auth, path):
    response = client.get(path, headers=auth)
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def building(locks_here):
    """``libfoo`` building rev-2 (holding its lock), rev-3 waiting for it."""
    source = make_source(url="https://bot:hunter2@git.example.com/libfoo.git")
    dep = make_dependency(name="libfoo", source=source, last_built_revision="rev-1")
    SourceState.objects.filter(pk=source.pk).update(
        last_revision="rev-3", last_outcome="changed", last_checked_at=timezone.now()
    )
    build = Build.objects.create(job=dep.job, number=7, phase="STARTED", revision="rev-2")
    running = RebuildRequest.objects.create(
        dependency=dep, revision="rev-2", reason="change", state="building", build=build
    )
    waiting = RebuildRequest.objects.create(
        dependency=dep, revision="rev-3", reason="change", state="waiting", waiting_for="lock"
    )
    grant = keyspaces().locks.acquire(dep.pk, running.pk, BusyPolicy.QUEUE).grant
    keyspaces().locks.acquire(dep.pk, waiting.pk, BusyPolicy.QUEUE)
    return dep, running, waiting, grant


def test_a_source_shows_its_last_check_and_each_dependency_building_or_waiting(
    client, auth, building
):
    dep, running, waiting, _ = building
    document = get(client, auth, f"/changes/status/sources/{dep.source_id}/").json()
    assert {k: document[k] for k in ("vcs", "branch", "last_revision", "last_outcome")} == {
        "vcs": "git", "branch": "main", "last_revision": "rev-3", "last_outcome": "changed",
    }  # fmt: skip
    assert document["last_checked_at"] and document["next_check_at"]
    [shown] = document["dependencies"]
    assert (shown["name"], shown["busy_policy"], shown["building"]) == ("libfoo", "queue", True)
    assert shown["last_built_revision"] == "rev-1"
    assert shown["build_request"]["request"] == running.pk
    assert shown["build_request"]["build"]["number"] == 7
    assert (shown["waiting_request"]["request"], shown["requests_waiting"]) == (waiting.pk, 1)
    assert shown["lock"]["held"] is True
    assert (shown["lock"]["holder_request"], shown["lock"]["waiter_request"]) == (
        running.pk, waiting.pk,
    )  # fmt: skip


def test_status_shows_no_password_and_no_lock_token(client, auth, building):
    dep, _, _, grant = building
    body = get(client, auth, f"/changes/status/sources/{dep.source_id}/").content.decode()
    assert "https://***@git.example.com/libfoo.git" in body
    assert "hunter2" not in body
    assert grant.token not in body
    project = make_project([dep])
    project_body = get(client, auth, f"/changes/status/projects/{project.pk}/").content.decode()
    assert grant.token and grant.token not in project_body


def test_an_idle_dependency_is_not_building_and_has_no_lock(client, auth, locks_here):
    dep = make_dependency()
    [shown] = get(client, auth, f"/changes/status/sources/{dep.source_id}/").json()["dependencies"]
    assert (shown["building"], shown["build_request"], shown["waiting_request"]) == (
        False, None, None,
    )  # fmt: skip
    assert shown["lock"]["held"] is False


def test_a_project_shows_its_dependencies_current_builds_and_latest_project_builds(
    client, auth, building
):
    dep, running, _, _ = building
    other = make_dependency(name="libbar")
    current = Build.objects.create(job=other.job, number=4, phase="FINALIZED", status="SUCCESS")
    project = make_project([dep, other], name="desktop")
    ProjectDependency.objects.filter(dependency=other).update(current_build=current)
    for n in range(3):
        ProjectBuild.objects.create(project=project, build_key=f"20260101.{n + 1}")
    document = get(client, auth, f"/changes/status/projects/{project.pk}/?builds=2").json()
    assert document["name"] == "desktop"
    bar, foo = document["dependencies"]
    assert (bar["name"], bar["current_build"]["number"], bar["building"]) == ("libbar", 4, False)
    assert (foo["name"], foo["current_build"], foo["building"]) == ("libfoo", None, True)
    assert [b["build_key"] for b in document["builds"]] == ["20260101.3", "20260101.2"]


def test_a_project_of_many_dependencies_costs_a_fixed_number_of_queries(
    client, auth, locks_here, django_assert_max_num_queries
):
    deps = [make_dependency() for _ in range(30)]
    project = make_project(deps)
    for dep in deps:
        RebuildRequest.objects.create(dependency=dep, revision="r", reason="change", state="queued")
    # project, members, active requests, lag, project builds; ephemera of the requests and builds
    with django_assert_max_num_queries(7):
        document = get(client, auth, f"/changes/status/projects/{project.pk}/").json()
    assert sum(d["building"] for d in document["dependencies"]) == 30


def test_an_unknown_source_or_project_is_a_404(client, auth, db):
    assert client.get("/changes/status/sources/999999/", headers=auth).status_code == 404
    assert client.get("/changes/status/projects/999999/", headers=auth).status_code == 404


def test_status_still_answers_when_redis_is_away(client, auth, settings, db):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CAPOMASTRO_CHANGES_REDIS_SOCKET_TIMEOUT = 0.5
    dep = make_dependency()
    [shown] = get(client, auth, f"/changes/status/sources/{dep.source_id}/").json()["dependencies"]
    assert shown["lock"] is None and shown["building"] is False


def test_a_password_quoted_in_an_error_or_a_request_detail_is_not_shown(client, auth, building):
    dep, running, waiting, _ = building
    quoted = "fatal: could not read from https://bot:hunter2@git.example.com/libfoo.git"
    SourceState.objects.filter(pk=dep.source_id).update(last_outcome="error", last_error=quoted)
    RebuildRequest.objects.filter(pk=waiting.pk).update(detail=f"queued after {quoted}")
    project = make_project([dep])
    ProjectBuild.objects.create(project=project, build_key="20260101.9", reason=quoted)
    source = get(client, auth, f"/changes/status/sources/{dep.source_id}/").json()
    assert source["last_error"] == (
        "fatal: could not read from https://***@git.example.com/libfoo.git"
    )
    [shown] = source["dependencies"]
    assert shown["waiting_request"]["detail"].endswith("https://***@git.example.com/libfoo.git")
    body = get(client, auth, f"/changes/status/projects/{project.pk}/").content.decode()
    assert "https://***@git.example.com/libfoo.git" in body
    assert "hunter2" not in body
