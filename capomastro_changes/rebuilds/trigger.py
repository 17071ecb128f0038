"""Triggering a rebuild: complete project builds, then Jenkins, then the state moves on.

The stored "last built revision" moves forward only once Jenkins has accepted
the build, and only for the lock's holder (:mod:`capomastro_changes.rebuilds.acceptance`).
A refused or failed trigger undoes the project builds, releases the lock and
records why, so the next check finds the change again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape

from django.urls import reverse

from capomastro_changes import metrics
from capomastro_changes.conf import settings
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.configs import render_config
from capomastro_changes.jenkins.errors import JenkinsError, JenkinsNotFound
from capomastro_changes.jenkins.values import BuildParameters
from capomastro_changes.models import (
    EphemeraGrant,
    EphemeraPolicy,
    EphemeronUse,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
    RebuildRequest,
)
from capomastro_changes.rebuilds.acceptance import accepted, holds_lock
from capomastro_changes.rebuilds.dispatch import let_go
from capomastro_changes.rebuilds.planning import Member, ProjectView, plan_rebuilds
from capomastro_changes.rebuilds.requests import describe
from capomastro_changes.rebuilds.states import move
from capomastro_changes.revisions import short_revision

log = logging.getLogger(__name__)


def create_project_builds(request: RebuildRequest) -> list[ProjectBuild]:
    """One complete project build per tracking project, in a constant number of queries."""
    dep = request.dependency
    tracking = dict(
        ProjectDependency.objects.filter(dependency=dep, auto_track=True).values_list(
            "project_id", "project__priority"
        )
    )
    if not tracking:
        return []
    members: dict[int, list[Member]] = {pk: [] for pk in tracking}
    rows = ProjectDependency.objects.filter(project_id__in=tracking).values_list(
        "project_id", "dependency_id", "current_build_id", "auto_track"
    )
    for project_id, dependency_id, build_id, auto in rows:
        members[project_id].append(Member(dependency_id, build_id, auto))
    views = [ProjectView(pk, tracking[pk], tuple(m)) for pk, m in members.items()]
    plans = plan_rebuilds(dep.pk, views)
    keys = ProjectBuild.allocate_keys(len(plans))
    reason = describe(request)
    builds = ProjectBuild.objects.bulk_create(
        ProjectBuild(
            project_id=plan.project_id,
            build_key=key,
            requested_by="capomastro-changes",
            reason=reason,
            rebuild_request=request,
        )
        for plan, key in zip(plans, keys)
    )
    ProjectBuildDependency.objects.bulk_create(
        ProjectBuildDependency(
            projectbuild=pb,
            dependency_id=link.dependency_id,
            build_id=link.build_id,
            rebuilt=link.rebuilt,
        )
        for pb, plan in zip(builds, plans)
        for link in plan.links
    )
    return builds


def trigger(request_id: int) -> None:
    """Ask Jenkins to build the request's dependency, holding its lock."""
    request = (
        RebuildRequest.objects.select_related("dependency__job__server", "dependency__job__jobtype")
        .filter(pk=request_id, state="triggering")
        .first()
    )
    if request is None:
        return
    if not holds_lock(request):
        if move(
            request.pk,
            ("triggering",),
            state="error",
            detail="the dependency's lock expired before Jenkins was asked; not triggered",
        ):
            metrics.record_build_refused("lock_expired")
            let_go(request)  # its slot, and a chain follow-up noted on it
        return
    project_builds = create_project_builds(request)
    job = request.dependency.job
    parameters = BuildParameters(
        build_id=project_builds[0].build_key if project_builds else "",
        revision=request.revision,
        previous_revision=request.previous_revision,
        reason=request.reason,
        request_id=request.pk,
        **ephemera_parameters(request),
    )
    try:
        queued = ask_jenkins(job, parameters)
    except JenkinsError as exc:
        fail_trigger(request, project_builds, str(exc))
        return
    accepted(request, queued.queue_id)


def ephemera_parameters(request: RebuildRequest) -> dict[str, str]:
    """The build's ephemera server and fresh token, when its dependency keeps ephemera."""
    if EphemeraPolicy.of(request.dependency_id).mode == EphemeraPolicy.OFF:
        return {}
    token = EphemeraGrant.mint(request, timedelta(seconds=settings.EPHEMERA_TOKEN_LIFETIME))
    RebuildRequest.objects.filter(pk=request.pk).update(keeps_ephemera=True)
    base = settings.PUBLIC_URL.rstrip("/") + reverse("capomastro_changes:ephemera-root")
    return {"ephemera_url": base, "ephemera_token": token}


def ask_jenkins(job, parameters: BuildParameters):
    """Trigger ``job``; create it from its job type's template first if Jenkins lacks it."""
    client = client_for(job.server)
    try:
        return client.trigger(job.name, parameters)
    except JenkinsNotFound:
        client.upsert_job(job.name, render_config(job))
        return client.trigger(job.name, parameters)


def fail_trigger(request: RebuildRequest, project_builds: list[ProjectBuild], why: str) -> None:
    """Undo what the trigger prepared, record why, and let the lock go."""
    ProjectBuild.objects.filter(pk__in=[pb.pk for pb in project_builds]).delete()
    move(
        request.pk, ("triggering",), state="error", detail=f"Jenkins did not take the build: {why}"
    )
    metrics.record_build_refused("jenkins")
    log.warning("trigger failed for %s: %s", describe(request), why)
    let_go(request)


def describe_on_jenkins(request_id: int) -> None:
    """Name the build after what changed and why, on the Jenkins build page."""
    request = (
        RebuildRequest.objects.select_related("dependency__job__server", "build")
        .filter(pk=request_id, build__isnull=False)
        .first()
    )
    if request is None:
        return
    number = request.build.number
    revision = short_revision(request.revision, request.revno, "current")
    name = f"#{number} {revision} ({request.reason})"
    uses = EphemeronUse.objects.select_related("ephemeron__made_by__job").filter(request=request)
    # A refusal's reason comes from the builder: text, never markup on the build page.
    description = "\n".join([describe(request), *(escape(use.summary()) for use in uses)])
    try:
        client_for(request.dependency.job.server).set_display_name(
            request.dependency.job.name, number, name, description=description
        )
    except JenkinsError as exc:
        log.info("could not describe %s on Jenkins: %s", request.build, exc)
