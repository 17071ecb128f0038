"""A Jenkins list view per project, listing the jobs of the project's dependencies.

Why: on a busy Jenkins a project's jobs are lost among everything else; a view
named after the project gathers them where the people who watch builds look.
It is kept in step by a task sent when a project is created, renamed or
deleted and when a dependency joins or leaves it (see
:mod:`capomastro_changes.signals`). Best
effort on purpose: a Jenkins that fails is logged, naming project and server,
and skipped; saving a project never waits for Jenkins or fails because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from capomastro_changes import enqueue
from capomastro_changes.conf import settings
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.errors import JenkinsError
from capomastro_changes.jenkins.list_views import (
    InvalidViewName,
    list_view_xml,
    listed_jobs,
    sorted_jobs,
    view_name,
)
from capomastro_changes.models import JenkinsServer, Job, Project

log = logging.getLogger(__name__)

CHANGED, UNCHANGED, REMOVED, FAILED, REFUSED = (
    "changed",
    "unchanged",
    "removed",
    "failed",
    "refused",
)


@dataclass(frozen=True)
class ViewSync:
    """What one sync did to one view on one server: changed, unchanged, removed, failed, refused."""

    project: str
    server: str
    view: str
    outcome: str


def jobs_by_server(project: Project) -> dict[JenkinsServer, tuple[str, ...]]:
    """The jobs of the project's dependencies, grouped by the server that runs them."""
    grouped: dict[JenkinsServer, list[str]] = {}
    jobs = Job.objects.filter(dependencies__projects=project).select_related("server").distinct()
    for job in jobs:
        grouped.setdefault(job.server, []).append(job.name)
    return {server: sorted_jobs(names) for server, names in grouped.items()}


def server_ids_of(dependency_ids: Iterable[int]) -> list[int]:
    """The servers whose jobs these dependencies build: where their projects have views."""
    servers = Job.objects.filter(dependencies__in=list(dependency_ids)).values_list("server_id")
    return sorted({server_id for (server_id,) in servers})


def sync_project(
    project_id: int, *, old_name: str | None = None, server_ids: Iterable[int] = ()
) -> list[ViewSync]:
    """Bring a project's views in line with its dependencies; nothing when views are off.

    Args:
        project_id: the project; one that is gone only has its ``old_name`` view removed.
        old_name: the name the project had (renamed or deleted): that view goes.
        server_ids: servers that may hold a view the project no longer needs there
            (a dependency left): the view is removed where no job of it is left.
    """
    if not settings.JENKINS_VIEWS:
        return []
    project = Project.objects.filter(pk=project_id).first()
    wanted = jobs_by_server(project) if project is not None else {}
    results = []
    if project is not None:
        results = _sync_views(project, wanted, set(server_ids))
    if old_name is not None and (project is None or old_name != project.name):
        ids = set(server_ids) | {server.pk for server in wanted}
        results += _drop_old_view(old_name, JenkinsServer.objects.filter(pk__in=ids))
    return results


def sync_all_views() -> list[ViewSync]:
    """Sync every project's views now (for an operator's "sync" action); [] when views are off."""
    results = []
    for project_id in Project.objects.order_by("pk").values_list("pk", flat=True).iterator():
        results += sync_project(project_id)
    return results


def schedule_sync(project_id: int, *, old_name: str | None = None, server_ids=()) -> None:
    """Send the sync task once the transaction commits; a broker failure is logged, not raised."""
    ids = sorted(set(server_ids))

    def send() -> None:
        try:
            enqueue.send("capomastro_changes.sync_project_views", project_id, old_name, ids)
        except Exception as exc:  # the project is saved already: this must not undo the request
            log.warning(
                "Jenkins views of project #%s not synced: the task could not be sent (%s: %s)",
                project_id, type(exc).__name__, exc,
            )  # fmt: skip

    transaction.on_commit(send)


def _sync_views(project: Project, wanted: dict, stale_ids: set[int]) -> list[ViewSync]:
    try:
        name = view_name(project.name)
    except InvalidViewName as exc:
        log.warning("project %r gets no Jenkins view: %s", project.name, exc)
        return [ViewSync(project.name, "", "", REFUSED)]
    results = [_upsert(project.name, server, name, jobs) for server, jobs in wanted.items()]
    stale = JenkinsServer.objects.filter(pk__in=stale_ids - {server.pk for server in wanted})
    return results + [_delete(project.name, server, name) for server in stale]


def _drop_old_view(old_name: str, servers) -> list[ViewSync]:
    """Remove a renamed or deleted project's view, unless a project now has that name."""
    if Project.objects.filter(name=old_name).exists():
        return []
    try:
        name = view_name(old_name)
    except InvalidViewName:
        return []  # it never had a view
    return [_delete(old_name, server, name) for server in servers]


def _upsert(project: str, server: JenkinsServer, name: str, jobs: tuple[str, ...]) -> ViewSync:
    def unchanged(current: str) -> bool:
        return sorted_jobs(listed_jobs(current)) == jobs

    try:
        changed = client_for(server).upsert_view(name, list_view_xml(name, jobs), unchanged)
    except (JenkinsError, ValueError) as exc:  # ValueError: a view that is not ours
        return _failed(project, server, name, exc)
    return ViewSync(project, server.name, name, CHANGED if changed else UNCHANGED)


def _delete(project: str, server: JenkinsServer, name: str) -> ViewSync:
    try:
        removed = client_for(server).delete_view(name)
    except JenkinsError as exc:
        return _failed(project, server, name, exc)
    return ViewSync(project, server.name, name, REMOVED if removed else UNCHANGED)


def _failed(project: str, server: JenkinsServer, name: str, exc: Exception) -> ViewSync:
    # The message names the server's URL without credentials and never the API token.
    log.warning(
        "Jenkins view %r of project %r not synced on server %r: %s", name, project, server.name, exc
    )
    return ViewSync(project, server.name, name, FAILED)
