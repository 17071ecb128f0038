"""The sweep: which sources are due, in one indexed query, and a check task for each."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from capomastro_changes import enqueue
from capomastro_changes.conf import settings
from capomastro_changes.models import SourceState


def due_sources(now: datetime, limit: int) -> list[int]:
    """Ids of the enabled sources due by ``now``, highest priority first (one indexed query)."""
    return list(SourceState.objects.due(now).values_list("source_id", flat=True)[:limit])


def sweep(now: datetime | None = None, limit: int = 5000, expires: float = 50.0) -> list[int]:
    """Fan out one check task per due source, and hold them until those checks run.

    Each selected source's next check moves one check-lock lifetime ahead, so
    the next tick does not queue it again; the check sets the real time.
    Tasks expire before the next tick would send them again.
    """
    now = now or timezone.now()
    due = due_sources(now, limit)
    if not due:
        return []
    hold = now + timedelta(seconds=settings.CHECK_LOCK_TTL)
    SourceState.objects.filter(source_id__in=due).update(next_check_at=hold)
    for source_id in due:
        enqueue.send("capomastro_changes.check_source", source_id, expires=expires)
    return due


def make_due(source_ids) -> int:
    """Make sources due now (a push notification, "check now"); the sweep does the work."""
    return SourceState.objects.filter(source_id__in=list(source_ids)).update(
        next_check_at=timezone.now()
    )
