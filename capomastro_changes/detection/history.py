"""Keeping the check history to a size: the newest ``HISTORY_KEEP`` rows per source.

Pruning costs two queries, so a check prunes its source only now and then
(every ``PRUNE_EVERY``-th record), which keeps each source within a few dozen
rows of its limit at no noticeable cost per check.
"""

from __future__ import annotations

from capomastro_changes.conf import settings
from capomastro_changes.models import CheckRecord

PRUNE_EVERY = 50


def due_for_pruning(record: CheckRecord) -> bool:
    return record.pk % PRUNE_EVERY == 0


def prune_history(source_id: int, keep: int | None = None) -> int:
    """Delete the source's check records older than its newest ``keep``; how many went."""
    keep = int(settings.HISTORY_KEEP if keep is None else keep)
    newest = CheckRecord.objects.filter(source_id=source_id).order_by("-pk")
    boundary = newest.values_list("pk", flat=True)[keep : keep + 1].first()
    if boundary is None:
        return 0
    deleted, _ = CheckRecord.objects.filter(source_id=source_id, pk__lte=boundary).delete()
    return deleted
