"""Rebuild requests from creation to a lock: idempotent requests, busy policies, capacity.

Every state change of a request is a conditional UPDATE from the states it may
come from, so a redelivered task or a second worker finds nothing left to do.
The lock is checked when the task runs, never when it is queued.
"""

from __future__ import annotations

import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from capomastro_changes import metrics
from capomastro_changes.capacity import cap_for
from capomastro_changes.locks import AcquireStatus, BusyPolicy, Grant, LockError
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.models.requests import ACTIVE_STATES
from capomastro_changes.redis_connection import coordination

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


def move(request_id: int, sources: tuple[str, ...], **fields) -> bool:
    """Set ``fields`` on the request if it is still in one of ``sources``; True if it was.

    With ``new_token``, ``lock_token`` is a condition (the token it must have now)
    and ``new_token`` the token it gets. ``updated_at`` moves too (an UPDATE skips
    ``auto_now``): the reaper measures "no news since" from it.
    """
    fields.setdefault("updated_at", timezone.now())
    found = RebuildRequest.objects.filter(pk=request_id, state__in=sources)
    if "new_token" in fields:
        found = found.filter(lock_token=fields.pop("lock_token"))
        fields["lock_token"] = fields.pop("new_token")
    return bool(found.update(**fields))


def dispatch(request_id: int) -> bool:
    """Take a free build slot and the dependency's lock, then trigger; or apply the policy.

    The request is first claimed in the database (a placeholder token), so two
    dispatchers of one request never both get past this point.

    Returns False only when no build slot was free (the request waits for one).
    """
    claim = f"claim:{uuid.uuid4().hex}"
    if not move(request_id, ("pending", "waiting"), lock_token="", new_token=claim):
        return True  # already dispatched, or finished: a redelivery has nothing to do
    request = RebuildRequest.objects.select_related("dependency__job__server").get(pk=request_id)
    locks, _, slots = coordination()
    server = request.dependency.job.server
    if not slots.reserve(server.pk, request.pk, cap_for(server)):
        move(
            request.pk,
            ("pending", "waiting"),
            state="waiting",
            waiting_for="capacity",
            lock_token="",
            detail=f"waiting for a free build slot on {server}",
        )
        return False
    policy = BusyPolicy(request.dependency.busy_policy)
    lock_policy = BusyPolicy.QUEUE if policy is BusyPolicy.QUEUE else BusyPolicy.DISCARD
    result = locks.acquire(request.dependency_id, request.pk, lock_policy)
    if result.status is AcquireStatus.ACQUIRED:
        start(request, result.grant)
        return True
    slots.release(server.pk, request.pk)
    if result.status is AcquireStatus.QUEUED:
        wait_for_lock(request, result.holder, result.superseded)
    elif policy is BusyPolicy.SUPERSEDE:
        from capomastro_changes.triggering import supersede

        supersede(request, result.holder)
    else:
        refuse_busy(request, policy, result.holder)
    return True


def start(request: RebuildRequest, grant: Grant) -> None:
    """Record the grant on the request and trigger; give the lock back if it moved on."""
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
        release_quietly(request.dependency_id, grant.token)
        return
    from capomastro_changes.tasks import trigger_request

    transaction.on_commit(lambda: trigger_request.delay(request.pk))


def wait_for_lock(request: RebuildRequest, holder, superseded: str | None) -> None:
    """The request waits for the current build; the waiter it replaced is superseded."""
    who = f"request #{holder.request}" if holder else "the current build"
    move(
        request.pk,
        ("pending", "waiting"),
        state="waiting",
        waiting_for="lock",
        lock_token="",
        detail=f"queued after {who}",
    )
    metrics.record_lock_wait(request.dependency.busy_policy)
    if superseded and superseded != str(request.pk):
        mark_superseded(int(superseded), request)


def mark_superseded(request_id: int, by: RebuildRequest) -> None:
    done = move(
        request_id,
        ("pending", "waiting"),
        state="superseded",
        superseded_by=by,
        waiting_for="",
        detail=f"superseded by newer request #{by.pk}",
    )
    if done:
        log.info("request #%s superseded by #%s (%s)", request_id, by.pk, by.dependency)


def refuse_busy(request: RebuildRequest, policy: BusyPolicy, holder) -> None:
    """``discard``: a quiet record. ``fail``: an error the admin shows and the log warns of."""
    who = f"request #{holder.request}" if holder else "another request"
    if policy is BusyPolicy.FAIL:
        detail = f"{request.dependency} was already building ({who}); busy policy is 'fail'"
        move(request.pk, ("pending", "waiting"), state="refused", lock_token="", detail=detail)
        metrics.record_build_refused("busy_fail")
        log.warning("rebuild refused: %s", detail)
    else:
        detail = f"{request.dependency} was already building ({who}); discarded"
        move(request.pk, ("pending", "waiting"), state="discarded", lock_token="", detail=detail)
        metrics.record_build_refused("busy_discard")
        log.info("rebuild discarded: %s", detail)


def let_go(request: RebuildRequest) -> None:
    """Release the request's lock and build slot; the waiting request, if any, takes both."""
    locks, _, slots = coordination()
    server_id = request.dependency.job.server_id
    try:
        handoff = locks.release(request.dependency_id, request.lock_token).handoff
    except LockError as exc:
        log.info("lock of %s already gone: %s", request.dependency, exc)
        handoff = None
    if handoff and slots.transfer(server_id, request.pk, handoff.request):
        hand_over(handoff)
        return
    slots.release(server_id, request.pk)
    if handoff:
        hand_over(handoff)
    dispatch_waiting_for_capacity(server_id)


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
    """The lock passed to the waiting request: record it and trigger it."""
    request = RebuildRequest.objects.select_related("dependency").filter(pk=grant.request).first()
    if request is None or not request.is_active:
        release_quietly(int(grant.dependency), grant.token)
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
        if not dispatch(request_id):
            break  # no slot left: the rest keep waiting, in order


def rebuild_everything(requested_by: str = "full rebuild") -> int:
    """Request a rebuild of every enabled dependency at its current revision (reason: full)."""
    deps = Dependency.objects.filter(changes_enabled=True).select_related("source__state")
    made = 0
    for dep in deps:
        state = getattr(dep.source, "state", None) if dep.source_id else None
        revision = (state.last_revision if state else "") or dep.last_built_revision
        made += (
            request_rebuild(
                dep,
                revision,
                "full",
                previous_revision=dep.last_built_revision,
                requested_by=requested_by,
            )
            is not None
        )
    return made
