"""What a Jenkins build event means here: records, request states, locks, chains.

The notification view and the reaper both end up here, so a build is settled
the same way whether Jenkins told us or we had to ask. Every step is
idempotent: a replayed or out-of-order event changes nothing it should not.
Every step is fenced too: a request whose lock has since been granted to
another (a newer fence exists) may still be recorded as ended, but it moves
no dependency state, no project and no chain.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from capomastro_changes import enqueue, metrics
from capomastro_changes.builds.notifications import COMPLETED, FINALIZED, STARTED, BuildEvent
from capomastro_changes.builds.records import store_build
from capomastro_changes.coordination.errors import LockError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import (
    Build,
    ChainLink,
    Dependency,
    Job,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
    RebuildRequest,
)
from capomastro_changes.models.querysets import IN_FLIGHT
from capomastro_changes.rebuilds.chaining import request_downstreams
from capomastro_changes.rebuilds.dispatch import let_go
from capomastro_changes.rebuilds.states import move

log = logging.getLogger(__name__)


class UnknownJob(LookupError):
    """The event names a job this server has no record of."""


def record_event(server, event: BuildEvent) -> Build:
    """Record the build an event describes and move its rebuild request on.

    Raises:
        UnknownJob: no job of that name on ``server``; nothing is recorded.
    """
    job = Job.objects.filter(server=server, name=event.job_name).first()
    if job is None:
        raise UnknownJob(f"no job named {event.job_name!r} on Jenkins server {server}")
    build, fresh = store_build(job, event)
    if fresh:
        request = request_of(build)
        if request is not None:
            advance(request, build, event.phase, event.status)
    return build


def request_of(build: Build) -> RebuildRequest | None:
    """The rebuild request that asked for this build, from its REQUEST_ID parameter."""
    request_id = str(build.parameters.get("REQUEST_ID", ""))
    if not request_id.isdigit():
        return None
    return (
        RebuildRequest.objects.select_related("dependency__job")
        .filter(pk=int(request_id), dependency__job=build.job_id)
        .first()
    )


def newer_fence(request: RebuildRequest) -> int | None:
    """The fence of a newer holder of the request's lock, or None if there is none.

    A request with a lower fence than the newest grant lost its lock to
    another request: what it reports now must not move anything shared.
    """
    if request.fence is None:
        return None
    last = keyspaces().locks.last_fence(request.dependency_id)
    return last if last > request.fence else None


def advance(request: RebuildRequest, build: Build, phase: str, status: str | None) -> None:
    """Link the build to its request and project builds; settle it on the last phase."""
    if phase == FINALIZED:
        settle(request, build, status or "FAILURE")
        return
    newer = newer_fence(request)
    if newer is not None:
        note = f"{build} reported {phase} after its lock passed on (fence {request.fence}<{newer})"
        if move(request.pk, IN_FLIGHT, detail=note):
            log.warning("request #%s: %s; nothing moved", request.pk, note)
        return
    link(request, build)
    if phase in (STARTED, COMPLETED) and move(
        request.pk, ("triggering", "queued"), state="building", detail=f"building as {build}"
    ):
        keep_lock(request)
        enqueue.after_commit("capomastro_changes.describe_build", request.pk)


def link(request: RebuildRequest, build: Build) -> None:
    """The build is the request's: on the request, with its fence, in its project builds.

    Done once, on the first event that finds the request without its build:
    later events of the same build (STARTED, then FINALIZED) find it linked.
    """
    if request.build_id == build.pk and build.fence == request.fence:
        return
    RebuildRequest.objects.filter(pk=request.pk, build__isnull=True).update(build=build)
    Build.objects.filter(pk=build.pk).update(fence=request.fence, revno=request.revno)
    ProjectBuildDependency.objects.filter(
        projectbuild__rebuild_request=request, rebuilt=True
    ).update(build=build)


def keep_lock(request: RebuildRequest) -> None:
    """Jenkins says the build runs, or still waits: its lock and slot get a full life again."""
    keyspaces().slots.renew(request.dependency.job.server_id, request.pk)
    try:
        keyspaces().locks.extend(request.dependency_id, request.lock_token)
    except LockError as exc:
        log.warning("build of %s runs without its lock: %s", request.dependency, exc)


def settle(request: RebuildRequest, build: Build, status: str) -> None:
    """The build is over: final state, project builds, current builds, lock, chain."""
    succeeded = status == "SUCCESS"
    final = "succeeded" if succeeded else "failed"
    newer = newer_fence(request)
    if newer is not None:
        settle_stale(request, build, status, newer)
        return
    detail = f"{build}: {status}"
    chained = ChainLink.objects.filter(upstream_id=request.dependency_id)
    if not succeeded and chained.exists():
        names = ", ".join(sorted(chained.values_list("dependency__name", flat=True)))
        detail += f"; chain stopped here ({names} not rebuilt)"
    with transaction.atomic():  # one commit: linked and settled together, or neither
        link(request, build)
        if not move(request.pk, IN_FLIGHT, state=final, build=build, detail=detail):
            return  # settled before (a replay, or the reaper got there first)
        Dependency.objects.filter(pk=request.dependency_id).update(
            last_built_revision=request.revision, last_built_revno=request.revno
        )
        ProjectBuild.objects.filter(rebuild_request=request).update(
            status=status, phase=FINALIZED, ended_at=timezone.now()
        )
        if succeeded:  # projects that track the dependency move on to the new build
            ProjectDependency.objects.filter(
                dependency_id=request.dependency_id, auto_track=True
            ).update(current_build=build)
    metrics.record_build_finished(final)
    log.info("%s finished: %s", build, status)
    let_go(request)
    if succeeded:
        request_downstreams(request)


def settle_stale(request: RebuildRequest, build: Build, status: str, newer: int) -> None:
    """A build that ended after its request's lock went to another: recorded, nothing moved."""
    final = "succeeded" if status == "SUCCESS" else "failed"
    detail = (
        f"{build}: {status}, after its lock passed to a newer holder (fence {request.fence} "
        f"< {newer}); the dependency, its projects and its chain were left to that one"
    )
    if not move(request.pk, IN_FLIGHT, state=final, build=build, detail=detail):
        return
    ProjectBuild.objects.filter(rebuild_request=request).update(
        status=status, phase=FINALIZED, ended_at=timezone.now()
    )
    metrics.record_build_finished(final)
    log.warning("request #%s: %s", request.pk, detail)
    let_go(request)  # its slot; the lock is not its own and is left alone
