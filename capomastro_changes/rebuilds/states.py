"""Conditional state changes of rebuild requests: the one way a request moves.

Every change is an UPDATE from the states the request may come from, so a
redelivered task, a second worker or the reaper finds nothing left to do
instead of moving a request twice.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from capomastro_changes.models import RebuildRequest
from capomastro_changes.models.querysets import WAITING

log = logging.getLogger(__name__)


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


def mark_superseded(request_id: int, by: RebuildRequest) -> bool:
    """A request not started yet gives way to a newer one of its dependency."""
    done = move(
        request_id,
        WAITING,
        state="superseded",
        superseded_by=by,
        waiting_for="",
        detail=f"superseded by newer request #{by.pk}",
    )
    if done:
        log.info("request #%s superseded by #%s (%s)", request_id, by.pk, by.dependency)
    return done


def supersede_older(request: RebuildRequest) -> int:
    """Older requests of the dependency still waiting (for its lock or a slot) give way.

    The newest request builds the newest revision; an older one that waited
    would build an older revision after it. Returns how many gave way.
    """
    older = RebuildRequest.objects.filter(
        dependency_id=request.dependency_id, state__in=WAITING, pk__lt=request.pk
    ).values_list("pk", flat=True)
    return sum(mark_superseded(pk, request) for pk in list(older))
