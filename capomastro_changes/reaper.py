"""The reaper: settle requests that stopped hearing from Jenkins, and free their locks.

A lost notification, a dead builder or a worker killed mid-trigger leaves a
request holding its lock without news. The reaper asks Jenkins what became of
it (queue item gone? build finished?) and settles it the way a notification
would have; a waiting request whose lock holder died is claimed and started.
A request that ended in the database while Redis was away (a restart, a
network blip) still holds its lock there: the reaper lets that lock go too,
instead of leaving the dependency unbuildable until the lock's TTL runs out.
A request still pending long after it was made lost its dispatch task (a
worker killed, a broker restart): the reaper dispatches it again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from capomastro_changes.build_events import keep_lock, record_event
from capomastro_changes.conf import settings
from capomastro_changes.jenkins_client import BuildInfo, JenkinsError
from capomastro_changes.jenkins_servers import client_for
from capomastro_changes.models import RebuildRequest
from capomastro_changes.models.requests import FINAL_STATES
from capomastro_changes.notifications import FINALIZED, STARTED, BuildEvent
from capomastro_changes.rebuilds import (
    dispatch,
    dispatch_waiting_for_capacity,
    hand_over,
    let_go,
    move,
)
from capomastro_changes.redis_connection import coordination
from capomastro_changes.triggering import accepted

log = logging.getLogger(__name__)


def reap() -> dict[str, int]:
    """One pass over stalled requests and orphaned waiters; counts of what was done."""
    now = timezone.now()
    stalled = RebuildRequest.objects.select_related("dependency__job__server").filter(
        state__in=("triggering", "queued", "building")
    )
    trigger_cutoff = now - timedelta(seconds=settings.TRIGGER_STALL_AFTER)
    build_cutoff = now - timedelta(seconds=settings.REAP_AFTER)
    counts = {"settled": 0, "asked": 0, "claimed": 0, "freed": free_locks_of_ended(now)}
    counts["undispatched"] = redispatch_stalled(trigger_cutoff)
    for request in stalled:
        cutoff = trigger_cutoff if request.state == "triggering" else build_cutoff
        if request.updated_at > cutoff:
            continue
        counts["asked"] += 1
        try:
            counts["settled"] += settle_from_jenkins(request)
        except JenkinsError as exc:
            log.warning("reaper could not ask Jenkins about request #%s: %s", request.pk, exc)
    locks = coordination()[0]
    for dependency_id in locks.orphaned_waiters():
        grant = locks.claim_orphaned_waiter(dependency_id)
        if grant:
            counts["claimed"] += 1
            hand_over(grant)
    counts["redispatched"] = redispatch_forgotten(build_cutoff)
    return counts


def redispatch_forgotten(cutoff) -> int:
    """Dispatch again the waiting requests nothing will wake: their Redis waiting slot
    expired, or the build slots they wait for were freed by expiry rather than a release."""
    waiting = RebuildRequest.objects.filter(state="waiting", updated_at__lte=cutoff)
    locks, count = coordination()[0], 0
    for request in waiting.filter(waiting_for="lock").only("pk", "dependency_id"):
        lock = locks.inspect(request.dependency_id)
        if not (lock.waiter and lock.waiter.request == str(request.pk)):
            count += 1
            dispatch(request.pk)
    servers = waiting.filter(waiting_for="capacity").values_list(
        "dependency__job__server_id", flat=True
    )
    for server_id in set(servers):
        count += 1
        dispatch_waiting_for_capacity(server_id)
    return count


def redispatch_stalled(cutoff) -> int:
    """Dispatch again the requests left pending since before ``cutoff``; how many.

    Dispatch is idempotent (it claims the request first), so a dispatch task
    that was only slow finds nothing left to do. A claim older than the cutoff
    was made by a dispatcher that died: it is cleared first.
    """
    stalled = list(
        RebuildRequest.objects.filter(state="pending", updated_at__lte=cutoff)
        .order_by("-priority", "created_at", "pk")
        .values_list("pk", "lock_token")[:100]
    )
    for pk, token in stalled:
        if token.startswith("claim:"):
            RebuildRequest.objects.filter(pk=pk, state="pending", lock_token=token).update(
                lock_token=""
            )
        log.warning("request #%s was never dispatched; dispatching it now", pk)
        dispatch(pk)
    return len(stalled)


def free_locks_of_ended(now) -> int:
    """Let go the build locks still held by requests that already ended; how many.

    Only the newest ended request per dependency can still hold its lock (a
    held lock lets nobody else take it), and a request is left alone for
    TRIGGER_STALL_AFTER after it ended, so a release on its way is not raced.
    """
    since = now - timedelta(seconds=settings.BUILD_LOCK_TTL)
    until = now - timedelta(seconds=settings.TRIGGER_STALL_AFTER)
    rows = (
        RebuildRequest.objects.filter(state__in=FINAL_STATES, updated_at__range=(since, until))
        .exclude(lock_token="")
        .exclude(lock_token__startswith="claim:")
        .order_by("-updated_at", "-pk")
        .values_list("pk", "dependency_id", "lock_token")
    )
    newest: dict[int, tuple[int, str]] = {}
    for pk, dependency_id, token in rows:
        newest.setdefault(dependency_id, (pk, token))
    if not newest:
        return 0
    held = coordination()[0].holder_tokens(newest)
    stale = [pk for dep, (pk, token) in newest.items() if held[str(dep)] == token]
    for request in RebuildRequest.objects.filter(pk__in=stale).select_related("dependency__job"):
        log.warning("request #%s of %s ended holding its lock", request.pk, request.dependency)
        let_go(request)
    return len(stale)


def settle_from_jenkins(request: RebuildRequest) -> int:
    """Find the request's build in Jenkins and settle it; 1 if its state moved."""
    client = client_for(request.dependency.job.server)
    job = request.dependency.job.name
    number = None
    if request.build_id:
        number = request.build.number
    elif request.jenkins_queue_id:
        item = client.queue_item(request.jenkins_queue_id)
        if item.cancelled:
            return give_up(request, f"queue item {item.queue_id} was cancelled in Jenkins")
        number = item.build_number
    if number is None:
        return give_up_if_unknown(request, client)
    info = client.build(job, number)
    if info.parameters.get("REQUEST_ID") != str(request.pk):
        return give_up(request, f"{job} #{number} is not this request's build")
    return settle_build(request, info)


def settle_build(request: RebuildRequest, info: BuildInfo) -> int:
    """Record what Jenkins says of the request's build, as its notification would have."""
    job, number = info.job, info.number
    phase = STARTED if info.building else FINALIZED
    event = BuildEvent(
        job_name=job, number=number, phase=phase, raw_phase=phase, status=info.result,
        full_url=info.url, parameters=info.parameters,
    )  # fmt: skip
    record_event(request.dependency.job.server, event)
    if info.building:  # still running: it keeps its lock, and we look again later
        keep_lock(request)
        RebuildRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
        return 0
    return 1


def give_up_if_unknown(request: RebuildRequest, client) -> int:
    """No build known: a worker died mid-trigger, or the item is still waiting.

    A trigger whose answer was lost may still have been taken: Jenkins is asked
    for a queue item or a recent build carrying this request's id first, so
    the revision is not built a second time.
    """
    if request.state == "triggering":
        job = request.dependency.job.name
        found = client.find_by_parameter(job, "REQUEST_ID", str(request.pk))
        if found is None:
            return give_up(request, "the trigger was interrupted before Jenkins answered")
        accepted(request, getattr(found, "queue_id", None))
        log.warning("reaper found request #%s in Jenkins after all; adopted", request.pk)
        if isinstance(found, BuildInfo):
            return settle_build(request, found)
        return 1
    RebuildRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
    return 0


def give_up(request: RebuildRequest, why: str) -> int:
    """Settle as an error (the change is found again) and let the lock go."""
    if not move(request.pk, ("triggering", "queued", "building"), state="error", detail=why):
        return 0
    log.warning("reaper settled request #%s of %s: %s", request.pk, request.dependency, why)
    let_go(request)
    return 1
