"""From a request to its dependency's lock and a build slot, and back: dispatch and hand-over.

Every state change of a request is a conditional UPDATE from the states it may
come from (:mod:`.states`), so a redelivered task or a second worker finds
nothing left to do. The lock is checked when the task runs, never when it is
queued. A request in flight holds two things, its dependency's lock and a
build slot of its server; they are taken, handed on and given back together.
Taking and giving back call each other (a slot given back wakes the requests
waiting for one; a lock released goes to its waiter), so they live here, in
one module; the busy policies are :mod:`.busy` and :mod:`.superseding`.
"""

from __future__ import annotations

import logging
import uuid

from capomastro_changes import enqueue, metrics
from capomastro_changes.coordination.errors import LockError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.coordination.values import AcquireStatus, BusyPolicy, Grant
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.models.querysets import WAITING
from capomastro_changes.rebuilds.busy import refuse_busy, wait_for_capacity, wait_for_lock
from capomastro_changes.rebuilds.capacity import cap_for, slots_ahead_of
from capomastro_changes.rebuilds.chaining import follow_up
from capomastro_changes.rebuilds.states import move, supersede_older
from capomastro_changes.rebuilds.superseding import can_take_place_of, take_place_of

log = logging.getLogger(__name__)


def dispatch(request_id: int, wake: bool = True) -> bool:
    """Take a free build slot and the dependency's lock, then trigger; or apply the policy.

    The request is first claimed in the database (a placeholder token), so two
    dispatchers of one request never both get past this point. A slot goes to
    the highest priority first: a request leaves a free slot to the requests
    of its server that rank above it and have not started yet.

    Args:
        request_id: the request.
        wake: dispatch the requests waiting for a slot if this one gave its
            slot back (False when the caller is going through them already).

    Returns:
        False only when no build slot was left for it (it waits for one).
    """
    claim = f"claim:{uuid.uuid4().hex}"
    if not move(request_id, WAITING, lock_token="", new_token=claim):
        return True  # already dispatched, or finished: a redelivery has nothing to do
    try:
        return dispatch_claimed(request_id, wake)
    except BaseException:  # Redis away, a time limit: the claim must not outlive the attempt
        RebuildRequest.objects.filter(pk=request_id, lock_token=claim).update(lock_token="")
        raise


def dispatch_claimed(request_id: int, wake: bool) -> bool:
    """:func:`dispatch` once the request is claimed: a slot, then the lock or the policy."""
    request = RebuildRequest.objects.select_related("dependency__job__server").get(pk=request_id)
    server = request.dependency.job.server
    cap = cap_for(server)
    ahead = slots_ahead_of(request) if cap > 0 else 0
    slots = keyspaces().slots
    if not slots.reserve(server.pk, request.pk, cap, ahead=ahead):
        wait_for_capacity(request, server)
        if wake and slots.in_use(server.pk) < cap:  # left for requests that gave way since
            dispatch_waiting_for_capacity(server.pk)
        return False
    take_lock(request, wake)
    return True


def take_lock(request: RebuildRequest, wake: bool) -> None:
    """With a slot in hand: the dependency's lock, or its busy policy."""
    policy = BusyPolicy(request.dependency.busy_policy)
    lock_policy = BusyPolicy.QUEUE if policy is BusyPolicy.QUEUE else BusyPolicy.DISCARD
    result = keyspaces().locks.acquire(request.dependency_id, request.pk, lock_policy)
    if result.status is AcquireStatus.ACQUIRED:
        supersede_older(request)
        start(request, result.grant)
        return
    if result.holder and result.holder.request == str(request.pk):
        # Handed the lock while it waited, and not started yet (or its hand-over
        # died): it starts with what it holds. A second start of it is harmless.
        holder = result.holder
        start(
            request, Grant(str(request.dependency_id), holder.request, holder.token, holder.fence)
        )
        return
    if policy is BusyPolicy.SUPERSEDE:
        supersede(request, result.holder, wake)  # keeps the slot if it takes over
        return
    give_back_slot(request, wake)
    if result.status is AcquireStatus.QUEUED:
        wait_for_lock(request, result.holder, result.superseded)
    else:
        refuse_busy(request, policy, result.holder)


def supersede(request: RebuildRequest, holder, wake: bool = True) -> None:
    """Cancel the holder's build still waiting in Jenkins' queue and take its place.

    The request came with a build slot; it keeps it if it builds now, and the
    cancelled request's slot is freed. A build that has started is left to
    finish; the request then waits as the newest, like the ``queue`` policy.
    """
    held = RebuildRequest.objects.filter(pk=int(holder.request)).first() if holder else None
    if can_take_place_of(held):
        grant = take_place_of(request, held, holder.token)
        if grant is not None:
            start(request, grant)
            if wake:
                dispatch_waiting_for_capacity(request.dependency.job.server_id)
            return
    result = keyspaces().locks.acquire(request.dependency_id, request.pk, BusyPolicy.QUEUE)
    if result.status is AcquireStatus.ACQUIRED:
        supersede_older(request)
        start(request, result.grant)
        return
    give_back_slot(request, wake)
    wait_for_lock(request, result.holder, result.superseded)


def give_back_slot(request: RebuildRequest, wake: bool = True) -> None:
    """Return the slot of a request that does not build now.

    Unless the request holds its dependency's lock by now: the build it queued
    behind may have ended meanwhile and handed it the lock with the slot.
    """
    spaces = keyspaces()
    server_id = request.dependency.job.server_id
    freed = spaces.slots.release_unless_holder(
        server_id, request.pk, spaces.locks.lock_key(request.dependency_id)
    )
    if freed and wake:
        dispatch_waiting_for_capacity(server_id)


def start(request: RebuildRequest, grant: Grant) -> None:
    """Record the grant on the request and trigger; give lock and slot back if it moved on."""
    claimed = move(
        request.pk,
        WAITING,
        state="triggering",
        waiting_for="",
        lock_token=grant.token,
        fence=grant.fence,
        detail="",
    )
    if not claimed:
        started = RebuildRequest.objects.filter(pk=request.pk, lock_token=grant.token).exists()
        if started:  # started already with this very grant (a hand-over and a redispatch)
            return
        # superseded meanwhile: what it was given goes back
        release_quietly(request.dependency_id, grant.token)
        give_back_slot(request)
        return
    enqueue.after_commit("capomastro_changes.trigger_request", request.pk)


def let_go(request: RebuildRequest) -> None:
    """Release the request's lock and build slot; the waiting request, if any, takes both."""
    spaces = keyspaces()
    server_id = request.dependency.job.server_id
    try:
        handoff = spaces.locks.release(request.dependency_id, request.lock_token).handoff
    except LockError as exc:
        log.info("lock of %s already gone: %s", request.dependency, exc)
        handoff = None
    passed = bool(handoff) and spaces.slots.transfer(server_id, request.pk, handoff.request)
    if not passed:
        spaces.slots.release(server_id, request.pk)
    if handoff:
        hand_over(handoff)
    if not passed:
        dispatch_waiting_for_capacity(server_id)
    follow_up(request)


def release_quietly(dependency_id: int, token: str) -> None:
    """Give back a lock this process took but cannot use; a lost lock is only logged."""
    try:
        handoff = keyspaces().locks.release(dependency_id, token).handoff
    except LockError as exc:
        log.info("lock of dependency %s already gone: %s", dependency_id, exc)
        return
    if handoff:
        hand_over(handoff)


def hand_over(grant: Grant) -> None:
    """The lock passed to the waiting request: it needs a slot too, then it is triggered.

    It normally comes with the slot of the build before it. Without one (that
    build had none, or the request waited for a holder that died) it takes a
    free slot, or gives the lock back and waits for a slot like any request.
    A request that ended meanwhile gives back both.
    """
    request = (
        RebuildRequest.objects.select_related("dependency__job__server")
        .filter(pk=grant.request)
        .first()
    )
    if request is None or not request.is_active:
        release_quietly(int(grant.dependency), grant.token)
        server_id = (
            Dependency.objects.filter(pk=grant.dependency)
            .values_list("job__server_id", flat=True)
            .first()
        )
        if server_id is not None:
            keyspaces().slots.release(server_id, grant.request)
            dispatch_waiting_for_capacity(server_id)
        return
    server = request.dependency.job.server
    if not keyspaces().slots.reserve(server.pk, request.pk, cap_for(server)):
        wait_for_capacity(request, server)
        release_quietly(request.dependency_id, grant.token)
        return
    metrics.record_lock_handoff()
    start(request, grant)


def dispatch_waiting_for_capacity(server_id: int) -> None:
    """Dispatch a server's requests waiting for a slot: highest priority, then oldest, first."""
    waiting = (
        RebuildRequest.objects.filter(
            state="waiting", waiting_for="capacity", dependency__job__server_id=server_id
        )
        .order_by("-priority", "created_at", "pk")
        .values_list("pk", flat=True)[:50]
    )
    for request_id in list(waiting):
        if not dispatch(request_id, wake=False):
            break  # no slot left: the rest keep waiting, in order
