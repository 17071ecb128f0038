"""The named sets of rows every stage asks for: request states, and sources due a check.

A request's state set is written out here once; code elsewhere asks for
``RebuildRequest.objects.in_flight()`` or passes :data:`WAITING` to a
conditional move, never a tuple of its own.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

# Not started yet: made, or waiting for a lock or a build slot.
WAITING = ("pending", "waiting")
# Handed to Jenkins (or about to be): a build may exist for them; they hold a lock.
IN_FLIGHT = ("triggering", "queued", "building")
ACTIVE = WAITING + IN_FLIGHT
FINAL = ("succeeded", "failed", "superseded", "discarded", "refused", "cancelled", "error")


class RebuildRequestQuerySet(models.QuerySet):
    """Rebuild requests by where they are in their life."""

    def waiting(self) -> RebuildRequestQuerySet:
        return self.filter(state__in=WAITING)

    def in_flight(self) -> RebuildRequestQuerySet:
        return self.filter(state__in=IN_FLIGHT)

    def active(self) -> RebuildRequestQuerySet:
        return self.filter(state__in=ACTIVE)

    def ended(self) -> RebuildRequestQuerySet:
        return self.filter(state__in=FINAL)


class SourceStateQuerySet(models.QuerySet):
    """Source states as the sweep reads them."""

    def due(self, now: datetime) -> SourceStateQuerySet:
        """Enabled sources due by ``now``, highest priority first, then the longest overdue.

        Served by the partial index ``sourcestate_due`` (or, in a backlog,
        ``sourcestate_due_by_priority``); never loads every source.
        """
        return self.filter(enabled=True, next_check_at__lte=now).order_by(
            "-priority", "next_check_at"
        )

    def make_due(self, source_ids) -> int:
        """Make these sources due now: a push, "check now", or a check that found the
        source being checked already (the holder's check then leaves it due)."""
        return self.filter(source_id__in=list(source_ids)).update(next_check_at=timezone.now())
