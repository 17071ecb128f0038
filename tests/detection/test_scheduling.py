"""The check schedule: spread out, predictable, slower for failing sources, faster for busy ones."""

import random
from datetime import UTC, datetime, timedelta

from capomastro_changes.detection.scheduling import (
    Cadence,
    changed_recently,
    effective_interval,
    next_check_at,
    stable_offset,
)

CADENCE = Cadence(default=300, minimum=30, maximum=3600)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_each_source_keeps_the_same_offset_and_sources_spread_across_the_interval():
    offsets = [stable_offset(i, 300) for i in range(1000)]
    assert offsets[7] == stable_offset(7, 300)
    assert all(0 <= o < 300 for o in offsets)
    buckets = {int(o // 30) for o in offsets}
    assert buckets == set(range(10))  # every tenth of the interval is used


def test_a_failing_source_backs_off_exponentially_up_to_the_maximum():
    intervals = [effective_interval(CADENCE, 60, failures=f) for f in range(8)]
    assert intervals[:5] == [60, 120, 240, 480, 960]
    assert intervals[-1] == 3600


def test_a_source_that_changed_recently_is_checked_more_often_but_not_below_the_minimum():
    assert effective_interval(CADENCE, 300, changed_recently=True) == 150
    assert effective_interval(CADENCE, 40, changed_recently=True) == 30
    assert changed_recently(NOW, NOW - timedelta(minutes=10), 300)
    assert not changed_recently(NOW, NOW - timedelta(hours=2), 300)
    assert not changed_recently(NOW, None, 300)


def test_the_next_check_lands_on_the_sources_slot_with_bounded_jitter():
    rng = random.Random(1)
    times = [next_check_at(NOW, 42, 300, rng=rng) for _ in range(50)]
    waits = [(t - NOW).total_seconds() for t in times]
    assert all(150 <= w <= 450 + 15 for w in waits)
    assert max(waits) - min(waits) <= 15  # jitter is at most 5% of the interval
    phase = (times[0].timestamp() - stable_offset(42, 300)) % 300
    assert phase <= 15


def test_a_failing_source_waits_its_back_off_from_now():
    when = next_check_at(NOW, 42, 960, failures=4, jitter=0)
    assert (when - NOW).total_seconds() == 960
