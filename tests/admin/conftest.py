"""A small installation as an operator finds it: sources in every state, a build lock held
with a request waiting behind it, a history of checks, and a project build made of one
rebuilt and one linked dependency. Secrets are planted so that pages can be searched for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.models import (
    Artifact,
    Build,
    CheckRecord,
    Dependency,
    JenkinsServer,
    ProjectBuild,
    ProjectBuildDependency,
    RebuildRequest,
    Source,
)
from capomastro_changes.testing.factories import (
    make_dependency,
    make_job,
    make_project,
    make_server,
    make_source,
)

API_TOKEN = "tok-5ee1-never-shown"
NOTIFICATION_SECRET = "notif-9c4d-never-shown"
URL_PASSWORD = "hunter2-never-shown"


@dataclass
class World:
    server: JenkinsServer
    broken: Source
    fine: Source
    building: Dependency
    idle: Dependency
    holder: RebuildRequest
    waiter: RebuildRequest
    superseded: RebuildRequest
    project_build: ProjectBuild
    rebuilt_build: Build
    linked_build: Build
    lock_token: str


@pytest.fixture
def app_redis(settings, redis_url, key_prefix):
    """The app's locks on the test Redis, under a prefix of this test's own."""
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    return settings


def _history(source: Source, outcomes: list[str]) -> None:
    start = timezone.now() - timedelta(hours=len(outcomes))
    for n, outcome in enumerate(outcomes):
        CheckRecord.objects.create(
            source=source, started_at=start + timedelta(hours=n), duration_ms=12.5,
            outcome=outcome, new_revision=f"{n:02d}" + "a" * 38, probe="in-process git",
            error="connection refused" if outcome == "error" else "",
        )  # fmt: skip


def _builds(job_rebuilt, job_linked):
    rebuilt = Build.objects.create(
        job=job_rebuilt, number=7, phase="FINALIZED", status="SUCCESS", revision="c0ffee" * 6
    )
    linked = Build.objects.create(
        job=job_linked, number=3, phase="FINALIZED", status="SUCCESS", revision="beef" * 10
    )
    Artifact.objects.create(build=rebuilt, filename="pkg-rebuilt.deb", url="http://a.example/r.deb")
    Artifact.objects.create(build=linked, filename="pkg-linked.deb", url="http://a.example/l.deb")
    return rebuilt, linked


def _sources() -> tuple[Source, Source]:
    """One source failing (a password in its URL), one bzr source that changed."""
    broken = make_source(url=f"https://deploy:{URL_PASSWORD}@git.example.com/broken.git")
    fine = make_source(vcs="bzr", url="bzr://bzr.example.com/fine")
    broken.state.last_outcome, broken.state.last_error = "error", "connection refused by host"
    broken.state.consecutive_failures = 3
    broken.state.save()
    fine.state.last_outcome = "changed"
    fine.state.last_revision, fine.state.last_revno = "joe@example.com-20240101-abcdef", 42
    fine.state.save()
    _history(broken, ["baseline", "unchanged", "error"])
    return broken, fine


def _requests(dep: Dependency, locks: DependencyLocks):
    """A superseded request, the request building (holding the lock) and one waiting."""
    make = RebuildRequest.objects.create
    superseded = make(dependency=dep, revision="r40", reason="change", state="superseded")
    holder = make(dependency=dep, revision="r41", reason="change", state="building")
    waiter = make(
        dependency=dep, revision="r42", reason="change", state="waiting", waiting_for="lock"
    )
    RebuildRequest.objects.filter(pk=superseded.pk).update(superseded_by=waiter)
    superseded.refresh_from_db()
    grant = locks.acquire(dep.pk, holder.pk).grant
    locks.acquire(dep.pk, waiter.pk)
    RebuildRequest.objects.filter(pk=holder.pk).update(lock_token=grant.token, fence=grant.fence)
    holder.refresh_from_db()
    return superseded, holder, waiter


def _project_build(holder, rebuilt_dep, linked_dep, rebuilt, linked) -> ProjectBuild:
    project = make_project(dependencies=[linked_dep, rebuilt_dep], name="appliance")
    (key,) = ProjectBuild.allocate_keys(1)
    pb = ProjectBuild.objects.create(
        project=project, build_key=key, requested_by="change detection",
        rebuild_request=holder, reason=f"{rebuilt_dep} changed",
    )  # fmt: skip
    link = ProjectBuildDependency.objects.create
    link(projectbuild=pb, dependency=rebuilt_dep, build=rebuilt, rebuilt=True)
    link(projectbuild=pb, dependency=linked_dep, build=linked, rebuilt=False)
    return pb


@pytest.fixture
def world(db, app_redis, redis_client, key_prefix) -> World:
    server = make_server(api_token=API_TOKEN, notification_secret=NOTIFICATION_SECRET)
    broken, fine = _sources()
    idle = make_dependency(name="libfoo", source=broken, job=make_job(server=server))
    building = make_dependency(name="libbar", source=fine, job=make_job(server=server))
    locks = DependencyLocks(redis_client, prefix=key_prefix)
    superseded, holder, waiter = _requests(building, locks)
    rebuilt, linked = _builds(building.job, idle.job)
    pb = _project_build(holder, building, idle, rebuilt, linked)
    return World(
        server, broken, fine, building, idle, holder, waiter, superseded, pb, rebuilt, linked,
        holder.lock_token,
    )  # fmt: skip
