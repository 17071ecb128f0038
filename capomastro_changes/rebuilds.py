"""Rebuild requests from creation to a lock: idempotent requests, busy policies, capacity.

Every state change of a request is a conditional UPDATE from the states it may
come from (:mod:`capomastro_changes.request_states`), so a redelivered task or
a second worker finds nothing left to do. The lock is checked when the task
runs, never when it is queued. A request in flight holds two things, its
dependency's lock and a build slot of its server; they are taken, handed on
and given back together.
"""

from __future__ import annotations

import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q

from capomastro_changes import metrics
from capomastro_changes.busy import refuse_busy, wait_for_capacity, wait_for_lock
from capomastro_changes.capacity import cap_for
from capomastro_changes.locks import AcquireStatus, BusyPolicy, Grant, LockError
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.models.requests import ACTIVE_STATES
from capomastro_changes.redis_connection import coordination
from capomastro_changes.request_states import move, supersede_older

__all__ = [
    "current_revision", "dispatch", "dispatch_waiting_for_capacity", "give_back_slot",
    "hand_over", "let_go", "move", "rebuild_everything", "refuse_busy", "release_quietly",
    "request_rebuild", "start",
]  # fmt: skip

log = logging.getLogger(__name__)


def request_rebuild(
    dependency: Dependency,
    revision: str,
    reason: str,
    *,
    revno: int | None = None,
    previous_revision: str = "",
    requested_by: str = "",
    upstream: RebuildRequest | None = None,
) -> RebuildRequest | None:
    """Record a request to rebuild ``dependency`` at ``revision``; None if one is active.

    The database's one-active-request-per-revision constraint makes this safe
    under any number of workers and retries. Dispatch is queued on commit.
    """
    try:
        with transaction.atomic():
            request = RebuildRequest.objects.create(
                dependency=dependency,
                revision=revision,
                revno=revno,
                previous_revision=previous_revision,
                reason=reason,
                priority=dependency.priority,
                requested_by=requested_by,
                upstream_request=upstream,
            )
    except IntegrityError:
        return None
    log.info("rebuild requested: %s at %s (%s)", dependency, revision[:12] or "?", reason)
    enqueue_dispatch(request.pk)
    return request


def enqueue_dispatch(request_id: int) -> None:
    from capomastro_changes.tasks import dispatch_request

    transaction.on_commit(lambda: dispatch_request.delay(request_id))


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
    if not move(request_id, ("pending", "waiting"), lock_token="", new_token=claim):
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
    slots = coordination()[2]
    if not slots.reserve(server.pk, request.pk, cap, ahead=ahead):
        wait_for_capacity(request, server)
        if wake and slots.in_use(server.pk) < cap:  # left for requests that gave way since
            dispatch_waiting_for_capacity(server.pk)
        return False
    take_lock(request, wake)
    return True


def slots_ahead_of(request: RebuildRequest) -> int:
    """Requests of the same server, not started yet, that rank above this one.

    Higher priority, or the same priority and older: they should have a slot first.
    """
    return (
        RebuildRequest.objects.filter(dependency__job__server_id=request.dependency.job.server_id)
        .filter(Q(state="pending") | Q(state="waiting", waiting_for="capacity"))
        .filter(Q(priority__gt=request.priority) | Q(priority=request.priority, pk__lt=request.pk))
        .count()
    )


def take_lock(request: RebuildRequest, wake: bool) -> None:
    """With a slot in hand: the dependency's lock, or its busy policy."""
    policy = BusyPolicy(request.dependency.busy_policy)
    lock_policy = BusyPolicy.QUEUE if policy is BusyPolicy.QUEUE else BusyPolicy.DISCARD
    result = coordination()[0].acquire(request.dependency_id, request.pk, lock_policy)
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
        from capomastro_changes.superseding import supersede

        supersede(request, result.holder, wake)  # keeps the slot if it takes over
        return
    give_back_slot(request, wake)
    if result.status is AcquireStatus.QUEUED:
        wait_for_lock(request, result.holder, result.superseded)
    else:
        refuse_busy(request, policy, result.holder)


def give_back_slot(request: RebuildRequest, wake: bool = True) -> None:
    """Return the slot of a request that does not build now.

    Unless the request holds its dependency's lock by now: the build it queued
    behind may have ended meanwhile and handed it the lock with the slot.
    """
    locks, _, slots = coordination()
    server_id = request.dependency.job.server_id
    freed = slots.release_unless_holder(
        server_id, request.pk, locks.lock_key(request.dependency_id)
    )
    if freed and wake:
        dispatch_waiting_for_capacity(server_id)


def start(request: RebuildRequest, grant: Grant) -> None:
    """Record the grant on the request and trigger; give lock and slot back if it moved on."""
    claimed = move(
        request.pk,
        ACTIVE_STATES[:2],
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
    from capomastro_changes.tasks import trigger_request

    transaction.on_commit(lambda: trigger_request.delay(request.pk))


def let_go(request: RebuildRequest) -> None:
    """Release the request's lock and build slot; the waiting request, if any, takes both."""
    locks, _, slots = coordination()
    server_id = request.dependency.job.server_id
    try:
        handoff = locks.release(request.dependency_id, request.lock_token).handoff
    except LockError as exc:
        log.info("lock of %s already gone: %s", request.dependency, exc)
        handoff = None
    passed = bool(handoff) and slots.transfer(server_id, request.pk, handoff.request)
    if not passed:
        slots.release(server_id, request.pk)
    if handoff:
        hand_over(handoff)
    if not passed:
        dispatch_waiting_for_capacity(server_id)
    from capomastro_changes.chaining import follow_up

    follow_up(request)


def release_quietly(dependency_id: int, token: str) -> None:
    """Give back a lock this process took but cannot use; a lost lock is only logged."""
    locks, _, _ = coordination()
    try:
        handoff = locks.release(dependency_id, token).handoff
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
            coordination()[2].release(server_id, grant.request)
            dispatch_waiting_for_capacity(server_id)
        return
    server = request.dependency.job.server
    if not coordination()[2].reserve(server.pk, request.pk, cap_for(server)):
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


def current_revision(dep: Dependency) -> str:
    """The revision a rebuild asked for now builds: the source's, else the last built."""
    state = getattr(dep.source, "state", None) if dep.source_id else None
    return (state.last_revision if state else "") or dep.last_built_revision


def rebuild_everything(requested_by: str = "full rebuild") -> int:
    """Request a rebuild of every enabled dependency at its current revision (reason: full)."""
    deps = Dependency.objects.filter(changes_enabled=True).select_related("source__state")
    made = 0
    for dep in deps:
        made += (
            request_rebuild(
                dep,
                current_revision(dep),
                "full",
                previous_revision=dep.last_built_revision,
                requested_by=requested_by,
            )
            is not None
        )
    return made
