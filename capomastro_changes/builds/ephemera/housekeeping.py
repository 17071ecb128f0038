"""Invalidation, expiry and eviction: what keeps the archives honest and their total bounded.

An invalidated archive is never restored again; a build still running that
already fetched it is marked as having used an invalidated archive. The
periodic task discards uploads whose build ended without committing them,
ends archives older than the maximum age, then the least recently restored
until the total fits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F, Sum
from django.utils import timezone

from capomastro_changes.builds.ephemera.ending import end
from capomastro_changes.conf import settings
from capomastro_changes.models import Ephemeron, EphemeronUse
from capomastro_changes.models.querysets import ACTIVE

log = logging.getLogger(__name__)


def invalidate(archives, by: str) -> int:
    """Never restore these archives again; mark builds in flight that fetched them."""
    live = archives.filter(state__in=(Ephemeron.STAGED, Ephemeron.COMMITTED))
    ids = list(live.values_list("pk", flat=True))
    EphemeronUse.objects.filter(
        ephemeron_id__in=ids, kind=EphemeronUse.RESTORED, request__state__in=ACTIVE
    ).update(used_invalidated=True)
    count = end(Ephemeron.objects.filter(pk__in=ids), Ephemeron.INVALIDATED, f"invalidated by {by}")
    if count:
        log.warning("%s invalidated %s ephemera archive(s): %s", by, count, ids)
    return count


def expire() -> dict[str, int]:
    """The periodic pass: orphaned uploads, old archives, then the total size cap."""
    now = timezone.now()
    orphans = Ephemeron.objects.filter(state=Ephemeron.STAGED).exclude(
        made_by_request__state__in=ACTIVE
    )
    done = {"orphans": end(orphans, Ephemeron.DISCARDED, "its build ended without committing it")}
    old = Ephemeron.objects.filter(
        state=Ephemeron.COMMITTED,
        committed_at__lt=now - timedelta(seconds=settings.EPHEMERA_MAX_AGE),
    )
    done["expired"] = end(old, Ephemeron.EVICTED, "older than the maximum age")
    done["evicted"] = evict_to(settings.EPHEMERA_TOTAL_BYTES)
    if any(done.values()):
        log.info("ephemera housekeeping: %s", done)
    return done


def evict_to(total: int) -> int:
    """End the least recently restored committed archives until all of them fit in ``total``."""
    kept = Ephemeron.objects.filter(state__in=(Ephemeron.COMMITTED, Ephemeron.STAGED))
    used = kept.aggregate(n=Sum("size"))["n"] or 0
    if used <= total:
        return 0
    victims = []
    order = (F("last_restored_at").asc(nulls_first=True), "committed_at", "pk")
    for pk, size in (
        kept.filter(state=Ephemeron.COMMITTED).order_by(*order).values_list("pk", "size")
    ):
        if used <= total:
            break
        victims.append(pk)
        used -= size
    return end(
        Ephemeron.objects.filter(pk__in=victims), Ephemeron.EVICTED,
        "least recently restored, over the total size cap",
    )  # fmt: skip
