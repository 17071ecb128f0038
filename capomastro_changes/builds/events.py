"""What a Jenkins build event means here: records, request states, locks, chains.

The notification view and the reaper both end up here, so a build is settled
the same way whether Jenkins told us or we had to ask. Every step is
idempotent: a replayed or out-of-order event changes nothing it should not.
Every step is fenced too: a request whose lock has since been granted to
another (a newer fence exists) may still be recorded as ended, but it moves
no dependency state, no project and no chain.

A notification is a claim, not the truth: its secret is in every job's
config.xml, readable by any Jenkins user who may read job configs. It moves
a request only for the build Jenkins gave that request: the build already
linked to it, or, before that, the build from the queue item Jenkins named
when it took the request. Any other build that names the request is kept,
marked *unexpected* (the admin lists it), logged, and moves nothing: no
state, no lock. Events that arrive before Jenkins' answer named the queue
item are held, and tied once it has (:func:`replay_held`). What the reaper
read from Jenkins' own API needs no such proof.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Value, When
from django.utils import timezone

from bygmester_hooks import bounds
from capomastro_changes import enqueue, metrics
from capomastro_changes.builds.ephemera.staging import settle_uploads
from capomastro_changes.builds.notifications import (
    COMPLETED,
    FINALIZED,
    REQUEST_PARAMETER,
    STARTED,
    BuildEvent,
)
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
# A project build whose own build succeeded while another of its dependencies was
# never built: it links to nothing for that one, so it is not a SUCCESS.
INCOMPLETE = "INCOMPLETE"


class UnknownJob(LookupError):
    """The event names a job this server has no record of."""


def record_event(server, event: BuildEvent, verified: bool = False) -> Build:
    """Record the build an event describes and move its rebuild request on.

    Args:
        verified: the event was read from Jenkins' API (the reaper), not
            posted to us: it needs no proof that the build is the request's.

    Raises:
        UnknownJob: no job of that name on ``server``; nothing is recorded.
    """
    job = Job.objects.filter(server=server, name=event.job_name).first()
    if job is None:
        raise UnknownJob(f"no job named {event.job_name!r} on Jenkins server {server}")
    build, fresh = store_build(job, event)
    if fresh:
        request = request_of(build)
        if request is None:
            pass
        elif verified or given_to(request, build):
            advance(request, build, event.phase, event.status)
        elif waiting_for_queue_item(request):
            log.info(
                "%s for request #%s held until Jenkins names its queue item", build, request.pk
            )
        else:
            mark_unexpected(request, build)
    return build


def given_to(request: RebuildRequest, build: Build) -> bool:
    """Whether Jenkins gave ``build`` to ``request``: its linked build, or from its queue item.

    A request Jenkins never took (pending, waiting, refused) or that has
    ended gets none. One Jenkins took without naming a queue item (made before
    queue ids were kept) takes the build that names it.
    """
    if request.build_id is not None:
        return request.build_id == build.pk
    if request.state not in ("queued", "building"):  # never given to Jenkins, or ended
        return False
    if request.jenkins_queue_id is not None:
        return build.queue_id == request.jenkins_queue_id
    return True


def waiting_for_queue_item(request: RebuildRequest) -> bool:
    """The trigger is still waiting for Jenkins' answer: its events cannot be told yet."""
    return request.state == "triggering" and request.jenkins_queue_id is None


def mark_unexpected(request: RebuildRequest, build: Build) -> None:
    """Keep a build that claims a request Jenkins never gave it, visibly, moving nothing."""
    Build.objects.filter(pk=build.pk).update(unexpected=True)
    build.unexpected = True
    given = (
        f"build #{request.build.number}"
        if request.build_id
        else (f"queue item {request.jenkins_queue_id}")
    )
    log.warning(
        "%s (queue item %s) claims request #%s, which Jenkins gave %s: recorded as unexpected; "
        "no request or lock moved", build, build.queue_id, request.pk, given,
    )  # fmt: skip


def replay_held(request_id: int) -> None:
    """Tie the events held while the trigger waited, now that Jenkins named the queue item."""
    request = (
        RebuildRequest.objects.select_related("dependency__job")
        .filter(pk=request_id, state__in=IN_FLIGHT, jenkins_queue_id__isnull=False)
        .first()
    )
    if request is None:
        return
    held = Build.objects.filter(
        job_id=request.dependency.job_id, queue_id=request.jenkins_queue_id, unexpected=False
    )
    for build in held.order_by("pk"):
        if request_of(build) == request:
            request.refresh_from_db()
            advance(request, build, build.phase, build.status or None)


def request_of(build: Build) -> RebuildRequest | None:
    """The rebuild request that asked for this build, from its REQUEST_ID parameter."""
    request_id = bounds.whole_number(build.parameters.get(REQUEST_PARAMETER, ""), bounds.BIGINT_MAX)
    if request_id is None:
        return None
    return (
        RebuildRequest.objects.select_related("dependency__job")
        .filter(pk=request_id, dependency__job=build.job_id)
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
    # What was built is what the request asked for, whatever the notification says.
    Build.objects.filter(pk=build.pk).update(
        fence=request.fence, revision=request.revision, revno=request.revno
    )
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
        if request.keeps_ephemera:  # its uploads: restorable only after SUCCESS
            settle_uploads(request, build, succeeded)
        Dependency.objects.filter(pk=request.dependency_id).update(
            last_built_revision=request.revision, last_built_revno=request.revno
        )
        ProjectBuild.objects.filter(rebuild_request=request).update(
            status=project_status(status), phase=FINALIZED, ended_at=timezone.now()
        )
        if succeeded:  # projects that track the dependency move on to the new build
            ProjectDependency.objects.filter(
                dependency_id=request.dependency_id, auto_track=True
            ).update(current_build=build)
    metrics.record_build_finished(final)
    log.info("%s finished: %s", build, status)
    if request.keeps_ephemera:  # one line per set used, on the Jenkins build page
        enqueue.after_commit("capomastro_changes.describe_build", request.pk)
    let_go(request)
    if succeeded:
        request_downstreams(request)


def project_status(status: str):
    """A project build's status from its dependency's build: no SUCCESS while it lacks one.

    One expression, so the update stays one statement: a project build with a
    dependency that was never built (nothing to link to) is INCOMPLETE instead.
    """
    if status != "SUCCESS":
        return Value(status)
    never_built = ProjectBuildDependency.objects.filter(
        projectbuild=OuterRef("pk"), build__isnull=True
    )
    return Case(When(Exists(never_built), then=Value(INCOMPLETE)), default=Value(status))


def settle_stale(request: RebuildRequest, build: Build, status: str, newer: int) -> None:
    """A build that ended after its request's lock went to another: recorded, nothing moved."""
    final = "succeeded" if status == "SUCCESS" else "failed"
    detail = (
        f"{build}: {status}, after its lock passed to a newer holder (fence {request.fence} "
        f"< {newer}); the dependency, its projects and its chain were left to that one"
    )
    with transaction.atomic():
        if not move(request.pk, IN_FLIGHT, state=final, build=build, detail=detail):
            return
        if request.keeps_ephemera:
            settle_uploads(request, build, succeeded=False)  # the newer holder's state wins
        ProjectBuild.objects.filter(rebuild_request=request).update(
            status=status, phase=FINALIZED, ended_at=timezone.now()
        )
    metrics.record_build_finished(final)
    log.warning("request #%s: %s", request.pk, detail)
    let_go(request)  # its slot; the lock is not its own and is left alone
