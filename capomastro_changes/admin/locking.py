"""Live build-lock state for the admin, and releasing a stuck lock by hand.

Lock state is read from Redis on every page view: the database only knows
what a request believed, Redis knows who holds the lock now. A page never
gets a token: releasing re-reads the holder and compares it with the one the
operator confirmed, so a lock that changed hands meanwhile is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bygmester_hooks import bounds
from capomastro_changes.coordination.errors import CoordinationError, LockError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.coordination.values import Holder, LockState
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.models.querysets import IN_FLIGHT
from capomastro_changes.rebuilds.dispatch import hand_over, let_go
from capomastro_changes.rebuilds.states import move

log = logging.getLogger(__name__)


def read_lock(dependency_id: int) -> LockState | None:
    """The dependency's lock as Redis has it now; None when Redis does not answer."""
    try:
        return keyspaces().locks.inspect(dependency_id)
    except CoordinationError as exc:
        log.warning("lock state of dependency %s unavailable: %s", dependency_id, exc)
        return None


def holder_label(holder: Holder) -> str:
    """What the confirmation page names and the release compares: request and fence."""
    return f"{holder.request}:{holder.fence}"


@dataclass(frozen=True)
class Released:
    """What releasing did, in words for an operator's message."""

    ok: bool
    message: str


def release_stuck(dependency: Dependency, confirmed: str, by: str) -> Released:
    """Release ``dependency``'s lock if it is still held as confirmed (``request:fence``).

    The holding request is cancelled with a detail naming ``by``; its build
    slot goes back, and the waiting request, if any, takes the lock.
    """
    state = read_lock(dependency.pk)
    if state is None:
        return Released(False, f"{dependency}: Redis did not answer; nothing released.")
    holder = state.holder
    if holder is None:
        return Released(False, f"{dependency}: the lock is free already.")
    if holder_label(holder) != confirmed:
        return Released(
            False,
            f"{dependency}: the lock changed hands since you confirmed (now request "
            f"#{holder.request}, fence {holder.fence}); nothing released.",
        )
    detail = f"lock released by {by} in the admin"
    request = _holding_request(holder)
    try:
        if request is not None and request.lock_token == holder.token:
            move(request.pk, IN_FLIGHT, state="cancelled", detail=detail)
            let_go(request)
        else:
            _release_unknown_holder(dependency, holder, request, detail)
    except (LockError, CoordinationError) as exc:
        return Released(False, f"{dependency}: could not release the lock: {exc}")
    log.warning("%s: lock of request %s released by %s", dependency, holder.request, by)
    return Released(True, _after_release(dependency, holder))


def _holding_request(holder: Holder) -> RebuildRequest | None:
    number = bounds.whole_number(holder.request, bounds.BIGINT_MAX)
    if number is None:
        return None
    return RebuildRequest.objects.select_related("dependency__job").filter(pk=number).first()


def _release_unknown_holder(dependency, holder: Holder, request, detail: str) -> None:
    """The database does not record this holder's token: free lock and slot by hand."""
    locks, _, slots = keyspaces()
    result = locks.release(dependency.pk, holder.token)
    slots.release(dependency.job.server_id, holder.request)
    if request is not None:
        move(request.pk, IN_FLIGHT, state="cancelled", detail=detail)
    if result.handoff:
        hand_over(result.handoff)


def _after_release(dependency: Dependency, old: Holder) -> str:
    said = f"{dependency}: released the lock of request #{old.request} (fence {old.fence})"
    now = read_lock(dependency.pk)
    if now is not None and now.holder is not None:
        return f"{said}; waiting request #{now.holder.request} took it."
    return f"{said}; the lock is free."
