"""The ``supersede`` busy policy: a build still waiting in Jenkins' queue gives way.

Only a cancel that Jenkins confirms counts: an item that started, or one
Jenkins does not know (forgotten, lost in a restart), may be a running build,
and taking its lock then would start a second build beside it. In every such
case the request waits as the newest instead, as with ``queue``.
"""

from __future__ import annotations

import logging

from capomastro_changes.acceptance import roll_back
from capomastro_changes.busy import wait_for_lock
from capomastro_changes.jenkins_client import JenkinsError
from capomastro_changes.jenkins_servers import client_for
from capomastro_changes.locks import AcquireStatus, BusyPolicy, Grant, LockError
from capomastro_changes.models import RebuildRequest
from capomastro_changes.redis_connection import coordination
from capomastro_changes.request_states import move, supersede_older

log = logging.getLogger(__name__)


def supersede(request: RebuildRequest, holder, wake: bool = True) -> None:
    """Cancel the holder's build still waiting in Jenkins' queue and take its place.

    The request came with a build slot; it keeps it if it builds now, and the
    cancelled request's slot is freed. A build that has started is left to
    finish; the request then waits as the newest, like the ``queue`` policy.
    """
    from capomastro_changes.rebuilds import dispatch_waiting_for_capacity, give_back_slot, start

    held = RebuildRequest.objects.filter(pk=int(holder.request)).first() if holder else None
    if held and held.state == "queued" and held.jenkins_queue_id:
        grant = take_place_of(request, held, holder.token)
        if grant is not None:
            start(request, grant)
            if wake:
                dispatch_waiting_for_capacity(request.dependency.job.server_id)
            return
    result = coordination()[0].acquire(request.dependency_id, request.pk, BusyPolicy.QUEUE)
    if result.status is AcquireStatus.ACQUIRED:
        supersede_older(request)
        start(request, result.grant)
        return
    give_back_slot(request, wake)
    wait_for_lock(request, result.holder, result.superseded)


def take_place_of(request: RebuildRequest, held: RebuildRequest, token: str) -> Grant | None:
    """Cancel ``held``'s queue item and take over its lock; None if either is refused."""
    locks, _, slots = coordination()
    try:
        client_for(request.dependency.job.server).cancel_queued(held.jenkins_queue_id)
        grant = locks.take_over(request.dependency_id, token, request.pk)
    except (JenkinsError, LockError) as exc:
        log.info("could not supersede request #%s: %s", held.pk, exc)
        return None
    move(
        held.pk,
        ("queued",),
        state="superseded",
        superseded_by=request,
        detail=f"cancelled in Jenkins' queue; superseded by #{request.pk}",
    )
    roll_back(held)  # its build never happens; the newer one moves the revision on
    slots.release(request.dependency.job.server_id, held.pk)
    supersede_older(request)
    return grant
