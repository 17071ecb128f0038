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
request is settled from Jenkins is :mod:`.settling`; the requests and locks
nothing else would move on are :mod:`capomastro_changes.rebuilds.recovery`.

A trigger is left alone for as long as a trigger task can run
(``settings.trigger_stall_after()``), so the reaper never gives up on one that
may still be talking to Jenkins.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from capomastro_changes.builds.settling import settle_from_jenkins
from capomastro_changes.conf import settings
from capomastro_changes.jenkins.errors import JenkinsError
from capomastro_changes.models import RebuildRequest
from capomastro_changes.rebuilds.recovery import (
    claim_orphaned_waiters,
    free_locks_of_ended,
    redispatch_forgotten,
    redispatch_stalled,
)

log = logging.getLogger(__name__)


def reap() -> dict[str, int]:
    """One pass over stalled requests and orphaned waiters; counts of what was done."""
    now = timezone.now()
    stalled = RebuildRequest.objects.in_flight().select_related("dependency__job__server")
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
    counts["claimed"] = claim_orphaned_waiters()
    counts["redispatched"] = redispatch_forgotten(build_cutoff)
    return counts
