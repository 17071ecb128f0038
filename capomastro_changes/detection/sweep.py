"""The sweep: which sources are due, in one indexed query, and check tasks in batches.

Each batch task checks its sources together (:mod:`.batch`): the bookkeeping
of a check (a task, a lock round trip, the statements) is shared by the batch.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from capomastro_changes import enqueue
from capomastro_changes.conf import settings
from capomastro_changes.detection.batch import batches
from capomastro_changes.models import SourceState


def due_sources(now: datetime, limit: int) -> list[int]:
    """Ids of the enabled sources due by ``now``, highest priority first (one indexed query)."""
    return list(SourceState.objects.due(now).values_list("source_id", flat=True)[:limit])


def sweep(
    now: datetime | None = None, limit: int | None = None, expires: float = 50.0
) -> list[int]:
    """Fan out batch check tasks for the due sources, and hold them until those checks run.

    At most ``limit`` (``SWEEP_LIMIT``) sources, the highest priority first; the
    rest stay due for the next sweep.

    Each selected source's next check moves one check-lock lifetime ahead, so
    the next tick does not queue it again; the check sets the real time.
    Tasks expire before the next tick would send them again.
    """
    now = now or timezone.now()
    # django-celery-beat's own "last run" stays empty under the guarded scheduler:
    # the admin and the overview read the sweep's here.
    PeriodicTask.objects.filter(task="capomastro_changes.sweep").update(last_run_at=now)
    due = due_sources(now, int(limit or settings.SWEEP_LIMIT))
    if not due:
        return []
    hold = now + timedelta(seconds=settings.CHECK_LOCK_TTL)
    SourceState.objects.filter(source_id__in=due).update(next_check_at=hold)
    workers = settings.SWEEP_WORKERS or os.cpu_count() or 1
    for batch in batches(due, workers, settings.CHECK_BATCH_MAX):
        enqueue.send("capomastro_changes.check_batch", batch, expires=expires)
    return due
