"""Daily counters behind capomastro's ``YYYYMMDD.N`` project build ids."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone


class DailyCounter(models.Model):
    """The last number handed out on one day; bumped atomically, many at a time."""

    day = models.DateField(primary_key=True)
    value = models.PositiveIntegerField(default=0)

    @classmethod
    def allocate(cls, count: int, day: datetime.date | None = None) -> list[str]:
        """Reserve ``count`` consecutive ids for ``day`` (today by default), in two queries."""
        if count <= 0:
            return []
        day = day or timezone.now().date()
        for _ in range(3):
            with transaction.atomic():
                if cls.objects.filter(day=day).update(value=F("value") + count):
                    last = cls.objects.filter(day=day).values_list("value", flat=True).get()
                    break
            try:
                with transaction.atomic():
                    cls.objects.create(day=day, value=count)
                last = count
                break
            except IntegrityError:
                continue  # another process created today's row first: bump it instead
        else:  # pragma: no cover - three lost races in a row
            raise RuntimeError(f"could not allocate project build ids for {day}")
        prefix = day.strftime("%Y%m%d")
        return [f"{prefix}.{n}" for n in range(last - count + 1, last + 1)]
