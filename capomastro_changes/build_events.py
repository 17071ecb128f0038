"""What a Jenkins build event means here: records, request states, locks, chains.

The notification view and the reaper both end up here, so a build is settled
the same way whether Jenkins told us or we had to ask. Every step is
idempotent: a replayed or out-of-order event changes nothing it should not.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from capomastro_changes import metrics
from capomastro_changes.locks import LockError
from capomastro_changes.models import (
    Artifact,
    Build,
    ChainLink,
    Dependency,
    Job,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
    RebuildRequest,
)
from capomastro_changes.notifications import COMPLETED, FINALIZED, QUEUED, STARTED, BuildEvent
from capomastro_changes.planning import CycleError, downstream_order
from capomastro_changes.rebuilds import let_go, move, request_rebuild
from capomastro_changes.redis_connection import coordination

log = logging.getLogger(__name__)
PHASE_ORDER = {QUEUED: 0, STARTED: 1, COMPLETED: 2, FINALIZED: 3}
IN_FLIGHT = ("triggering", "queued", "building")


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


def store_build(job: Job, event: BuildEvent) -> tuple[Build, bool]:
    """Create or update the build; False when the event is older than what we know."""
    parameters = dict(event.parameters)
    with transaction.atomic():
        build, created = Build.objects.select_for_update().get_or_create(
            job=job, number=event.number, defaults={"phase": event.phase}
        )
        if not created and PHASE_ORDER[event.phase] < PHASE_ORDER.get(build.phase, 0):
            return build, False
        if not created and event.phase == build.phase and event.phase == FINALIZED:
            return build, False  # a replay of the last phase
        build.phase = event.phase
        build.status = event.status or build.status
        build.url = event.full_url or build.url
        build.parameters = parameters or build.parameters
        build.revision = parameters.get("REVISION", build.revision)
        build.save()
        Artifact.objects.bulk_create(
            [Artifact(build=build, filename=a.path, url=a.url or "") for a in event.artifacts],
            ignore_conflicts=True,
        )
    return build, True


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


def advance(request: RebuildRequest, build: Build, phase: str, status: str | None) -> None:
    """Link the build to its request and project builds; settle it on the last phase."""
    RebuildRequest.objects.filter(pk=request.pk, build__isnull=True).update(build=build)
    Build.objects.filter(pk=build.pk).update(fence=request.fence, revno=request.revno)
    ProjectBuildDependency.objects.filter(
        projectbuild__rebuild_request=request, rebuilt=True
    ).update(build=build)
    if phase == FINALIZED:
        settle(request, build, status or "FAILURE")
    elif phase in (STARTED, COMPLETED) and move(
        request.pk, ("triggering", "queued"), state="building", detail=f"building as {build}"
    ):
        keep_lock(request)
        from capomastro_changes.tasks import describe_build

        transaction.on_commit(lambda: describe_build.delay(request.pk))


def keep_lock(request: RebuildRequest) -> None:
    """Jenkins says the build runs: give its lock a full life again."""
    try:
        coordination()[0].extend(request.dependency_id, request.lock_token)
    except LockError as exc:
        log.warning("build of %s runs without its lock: %s", request.dependency, exc)


def settle(request: RebuildRequest, build: Build, status: str) -> None:
    """The build is over: final state, project builds, current builds, lock, chain."""
    succeeded = status == "SUCCESS"
    final = "succeeded" if succeeded else "failed"
    detail = f"{build}: {status}"
    chained = ChainLink.objects.filter(upstream_id=request.dependency_id)
    if not succeeded and chained.exists():
        names = ", ".join(sorted(chained.values_list("dependency__name", flat=True)))
        detail += f"; chain stopped here ({names} not rebuilt)"
    with transaction.atomic():
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


def request_downstreams(request: RebuildRequest) -> None:
    """Rebuild the dependencies chained after this one, each after all its upstreams."""
    links = list(ChainLink.objects.values_list("upstream_id", "dependency_id"))
    downstreams: dict[int, list[int]] = {}
    upstreams: dict[int, set[int]] = {}
    for up, down in links:
        downstreams.setdefault(up, []).append(down)
        upstreams.setdefault(down, set()).add(up)
    try:
        chain = set(downstream_order(request.dependency_id, downstreams))
    except CycleError as exc:
        log.error("chain after %s not started: %s", request.dependency, exc)
        move(request.pk, ("succeeded",), detail=f"chain not started: {exc}")
        return
    direct = downstreams.get(request.dependency_id, [])
    for dep in Dependency.objects.filter(pk__in=direct).select_related("source__state"):
        if upstreams[dep.pk] & chain - {request.dependency_id}:
            continue  # another upstream in this chain goes first; it will ask
        state = getattr(dep.source, "state", None) if dep.source_id else None
        revision = (state.last_revision if state else "") or dep.last_built_revision
        request_rebuild(
            dep,
            revision,
            "upstream",
            previous_revision=dep.last_built_revision,
            requested_by=f"chain after {request.dependency}",
            upstream=request,
        )
