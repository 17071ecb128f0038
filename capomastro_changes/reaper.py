"""The reaper: settle requests that stopped hearing from Jenkins, and free their locks.

A lost notification, a dead builder or a worker killed mid-trigger leaves a
request holding its lock without news. The reaper asks Jenkins what became of
it (queue item gone? build finished?) and settles it the way a notification
would have; a waiting request whose lock holder died is claimed and started.
A request that ended in the database while Redis was away (a restart, a
network blip) still holds its lock there: the reaper lets that lock go too,
instead of leaving the dependency unbuildable until the lock's TTL runs out.
A request still pending long after it was made lost its dispatch task (a
worker killed, a broker restart): the reaper dispatches it again. How a
request is settled from Jenkins is :mod:`capomastro_changes.settling`.

A trigger is left alone for as long as a trigger task can run
(``settings.trigger_stall_after()``), so the reaper never gives up on one that
may still be talking to Jenkins.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from capomastro_changes.conf import settings
from capomastro_changes.jenkins_client import JenkinsError
from capomastro_changes.models import RebuildRequest
from capomastro_changes.models.requests import FINAL_STATES
from capomastro_changes.rebuilds import dispatch, dispatch_waiting_for_capacity, hand_over, let_go
from capomastro_changes.redis_connection import coordination
from capomastro_changes.settling import settle_from_jenkins

log = logging.getLogger(__name__)


def reap() -> dict[str, int]:
    """One pass over stalled requests and orphaned waiters; counts of what was done."""
    now = timezone.now()
    stalled = RebuildRequest.objects.select_related("dependency__job__server").filter(
        state__in=("triggering", "queued", "building")
    )
    pending_cutoff = now - timedelta(seconds=settings.dispatch_stall_after())
    trigger_cutoff = now - timedelta(seconds=settings.trigger_stall_after())
    build_cutoff = now - timedelta(seconds=settings.REAP_AFTER)
    counts = {"settled": 0, "asked": 0, "claimed": 0, "freed": free_locks_of_ended(now)}
    counts["undispatched"] = redispatch_stalled(pending_cutoff)
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
    """Dispatch again the requests left pending, or claimed, since before ``cutoff``; how many.

    Dispatch is idempotent (it claims the request first), so a dispatch task
    that was only slow finds nothing left to do. A claim older than the cutoff
    (on a pending request, or a waiting one being dispatched again) was made
    by a dispatcher that died: it is cleared first.
    """
    claimed = Q(state="waiting", lock_token__startswith="claim:")
    stalled = list(
        RebuildRequest.objects.filter(Q(state="pending") | claimed, updated_at__lte=cutoff)
        .order_by("-priority", "created_at", "pk")
        .values_list("pk", "lock_token")[:100]
    )
    for pk, token in stalled:
        if token.startswith("claim:"):
            RebuildRequest.objects.filter(
                pk=pk, state__in=("pending", "waiting"), lock_token=token
            ).update(lock_token="")
        log.warning("request #%s was left by its dispatcher; dispatching it now", pk)
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
