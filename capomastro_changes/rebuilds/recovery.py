"""Requests that nothing will move on by itself: dispatched again, or their locks freed.

A worker killed mid-dispatch, a broker restart, a Redis restart or an expired
waiting slot can leave a request that no task will ever touch again. The
reaper (:mod:`capomastro_changes.builds.reaper`) calls these on every pass;
each is safe to run from any number of processes, since dispatch claims the
request first and the lock scripts decide atomically.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q

from capomastro_changes.conf import settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import RebuildRequest
from capomastro_changes.models.querysets import WAITING
from capomastro_changes.rebuilds.dispatch import (
    dispatch,
    dispatch_waiting_for_capacity,
    hand_over,
    let_go,
)

log = logging.getLogger(__name__)


def claim_orphaned_waiters() -> int:
    """Start the waiting requests whose lock holder died; how many were started."""
    locks, claimed = keyspaces().locks, 0
    for dependency_id in locks.orphaned_waiters():
        grant = locks.claim_orphaned_waiter(dependency_id)
        if grant:
            claimed += 1
            hand_over(grant)
    return claimed


def redispatch_forgotten(cutoff) -> int:
    """Dispatch again the waiting requests nothing will wake: their Redis waiting slot
    expired, or the build slots they wait for were freed by expiry rather than a release."""
    waiting = RebuildRequest.objects.filter(state="waiting", updated_at__lte=cutoff)
    locks, count = keyspaces().locks, 0
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
            RebuildRequest.objects.filter(pk=pk, state__in=WAITING, lock_token=token).update(
                lock_token=""
            )
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
        RebuildRequest.objects.ended()
        .filter(updated_at__range=(since, until))
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
    held = keyspaces().locks.holder_tokens(newest)
    stale = [pk for dep, (pk, token) in newest.items() if held[str(dep)] == token]
    for request in RebuildRequest.objects.filter(pk__in=stale).select_related("dependency__job"):
        log.warning("request #%s of %s ended holding its lock", request.pk, request.dependency)
        let_go(request)
    return len(stale)
