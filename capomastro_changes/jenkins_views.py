"""A Jenkins list view per project, listing the jobs of the project's dependencies.

Why: on a busy Jenkins a project's jobs are lost among everything else; a view
named after the project gathers them where the people who watch builds look.
It is kept in step by a task sent when a project is created, renamed or
deleted and when a dependency joins or leaves it (see :mod:`.signals`). Best
effort on purpose: a Jenkins that fails is logged, naming project and server,
and skipped; saving a project never waits for Jenkins or fails because of it.
"""

from __future__ import annotations

import logging
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.db import transaction

from capomastro_changes.conf import settings
from capomastro_changes.jenkins_errors import JenkinsError
from capomastro_changes.jenkins_servers import client_for
from capomastro_changes.models import JenkinsServer, Job, Project

log = logging.getLogger(__name__)

LIST_VIEW = "hudson.model.ListView"
# What Jenkins.checkGoodName refuses, beside control characters.
UNSAFE = "?*/\\%!@#$^&|<>[]:;"
CHANGED, UNCHANGED, REMOVED, FAILED, REFUSED = (
    "changed",
    "unchanged",
    "removed",
    "failed",
    "refused",
)


class InvalidViewName(ValueError):
    """A project name Jenkins cannot take as a view name; the project gets no view."""


@dataclass(frozen=True)
class ViewSync:
    """What one sync did to one view on one server: changed, unchanged, removed, failed, refused."""

    project: str
    server: str
    view: str
    outcome: str


def view_name(project_name: str) -> str:
    """The name of a project's view: the project's own, refused where Jenkins would refuse it.

    Refused rather than escaped: two projects escaped to one name would fight over it.

    Raises:
        InvalidViewName: empty, ``.`` or ``..``, a character Jenkins calls unsafe or a
            control character, or "all", the name of Jenkins' own view of every job.
    """
    if not project_name.strip() or project_name.strip() in (".", ".."):
        raise InvalidViewName(f"{project_name!r} is not a name Jenkins allows")
    if project_name.lower() == "all":
        raise InvalidViewName(f"{project_name!r} is Jenkins' own view of every job")
    for char in project_name:
        if char in UNSAFE or unicodedata.category(char) == "Cc":
            raise InvalidViewName(f"{char!r} cannot be in a Jenkins view name")
    return project_name


def sorted_jobs(jobs: Iterable[str]) -> tuple[str, ...]:
    """Job names without repeats, in Jenkins' case-insensitive order (ties by case)."""
    return tuple(sorted(set(jobs), key=lambda job: (job.lower(), job)))


def list_view_xml(name: str, jobs: Iterable[str]) -> str:
    """The config.xml of a list view called ``name`` showing exactly ``jobs``."""
    strings = "".join(f"\n    <string>{escape(job)}</string>" for job in sorted_jobs(jobs))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{LIST_VIEW}>
  <name>{escape(name)}</name>
  <filterExecutors>false</filterExecutors>
  <filterQueue>false</filterQueue>
  <properties class="hudson.model.View$PropertyList"/>
  <jobNames>
    <comparator class="hudson.util.CaseInsensitiveComparator"/>{strings}
  </jobNames>
  <jobFilters/>
  <columns>
    <hudson.views.StatusColumn/>
    <hudson.views.WeatherColumn/>
    <hudson.views.JobColumn/>
    <hudson.views.LastSuccessColumn/>
    <hudson.views.LastFailureColumn/>
    <hudson.views.LastDurationColumn/>
    <hudson.views.BuildButtonColumn/>
  </columns>
</{LIST_VIEW}>
"""


def listed_jobs(config_xml: str) -> tuple[str, ...]:
    """The jobs a list view's config.xml names, in :func:`sorted_jobs` order.

    Raises:
        ValueError: not XML, or not a list view (a view someone else made: left alone).
    """
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError as exc:
        raise ValueError(f"the view's config.xml is not XML ({exc})") from None
    if root.tag != LIST_VIEW:
        raise ValueError(f"the view is a {root.tag}, not a list view: left alone")
    return sorted_jobs(s.text or "" for s in root.iterfind("jobNames/string"))


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
    from capomastro_changes.tasks import sync_project_views

    ids = sorted(set(server_ids))

    def send() -> None:
        try:
            sync_project_views.delay(project_id, old_name, ids)
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
