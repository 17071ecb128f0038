"""Busy policies: what a request does when its dependency, or every build slot, is taken.

``queue`` (and ``supersede``, for what is not in Jenkins' queue yet) keeps one
waiting request per dependency, the newest; ``discard`` records a quiet skip;
``fail`` records an error the admin shows. The same rules hold for a request
waiting for a build slot as for one waiting for its dependency's lock, so a
burst of commits while the builders are full still builds only the newest.
"""

from __future__ import annotations

import logging

from capomastro_changes import metrics
from capomastro_changes.coordination.values import BusyPolicy
from capomastro_changes.models import RebuildRequest
from capomastro_changes.models.querysets import ACTIVE, WAITING
from capomastro_changes.rebuilds.states import mark_superseded, move, supersede_older

log = logging.getLogger(__name__)


def wait(request: RebuildRequest, what: str, detail: str) -> bool:
    """The request waits for ``what`` ("lock" or "capacity"); False if it moved on."""
    fields = {"state": "waiting", "waiting_for": what, "lock_token": "", "detail": detail}
    return move(request.pk, WAITING, **fields)


def wait_for_lock(request: RebuildRequest, holder, superseded: str | None) -> None:
    """The request waits for the current build; the waiter it replaced is superseded."""
    who = f"request #{holder.request}" if holder else "the current build"
    wait(request, "lock", f"queued after {who}")
    metrics.record_lock_wait(request.dependency.busy_policy)
    if superseded and superseded != str(request.pk):
        mark_superseded(int(superseded), request)
    supersede_older(request)


def wait_for_capacity(request: RebuildRequest, server) -> None:
    """No build slot for the request: it waits for one, coalesced by its busy policy.

    ``discard`` and ``fail`` refuse it when its dependency already has another
    request on the way. ``queue`` and ``supersede`` keep only the newest
    waiting request: the older ones give way to it, and it gives way to a newer
    one (checked after it waits, so of two at once exactly the older gives way).
    """
    policy = BusyPolicy(request.dependency.busy_policy)
    others = RebuildRequest.objects.filter(
        dependency_id=request.dependency_id, state__in=ACTIVE
    ).exclude(pk=request.pk)
    if policy in (BusyPolicy.DISCARD, BusyPolicy.FAIL):
        other = others.order_by("pk").values_list("pk", flat=True).first()
        if other is not None:
            refuse_busy(request, policy, None, who=f"request #{other}")
            return
    waiting = wait(request, "capacity", f"waiting for a free build slot on {server}")
    if not waiting or policy in (BusyPolicy.DISCARD, BusyPolicy.FAIL):
        return
    supersede_older(request)
    newer = others.filter(pk__gt=request.pk, state__in=WAITING).order_by("-pk")
    newest = newer.first()
    if newest is not None:
        mark_superseded(request.pk, newest)


def refuse_busy(request: RebuildRequest, policy: BusyPolicy, holder, who: str = "") -> None:
    """``discard``: a quiet record. ``fail``: an error the admin shows and the log warns of."""
    who = who or (f"request #{holder.request}" if holder else "another request")
    if policy is BusyPolicy.FAIL:
        detail = f"{request.dependency} was already building ({who}); busy policy is 'fail'"
        move(request.pk, WAITING, state="refused", lock_token="", detail=detail)
        metrics.record_build_refused("busy_fail")
        log.warning("rebuild refused: %s", detail)
    else:
        detail = f"{request.dependency} was already building ({who}); discarded"
        move(request.pk, WAITING, state="discarded", lock_token="", detail=detail)
        metrics.record_build_refused("busy_discard")
        log.info("rebuild discarded: %s", detail)
