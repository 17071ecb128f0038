"""The check history keeps the newest rows of each source, and only those."""

import pytest
from django.utils import timezone

from capomastro_changes.detection.history import prune_history
from capomastro_changes.models import CheckRecord
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


def records(source, count):
    return CheckRecord.objects.bulk_create(
        CheckRecord(source=source, started_at=timezone.now(), duration_ms=1, outcome="unchanged")
        for _ in range(count)
    )


def test_pruning_keeps_the_newest_rows_of_that_source_only():
    mine, other = make_dependency().source, make_dependency().source
    records(mine, 30)
    records(other, 30)
    newest = list(CheckRecord.objects.filter(source=mine).order_by("-pk")[:10])
    assert prune_history(mine.pk, keep=10) == 20
    assert list(CheckRecord.objects.filter(source=mine).order_by("-pk")) == newest
    assert CheckRecord.objects.filter(source=other).count() == 30


def test_a_short_history_is_left_alone():
    source = make_dependency().source
    records(source, 5)
    assert prune_history(source.pk, keep=10) == 0
    assert CheckRecord.objects.filter(source=source).count() == 5
