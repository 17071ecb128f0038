"""When to check a source next: stable offsets, jitter, back-off and adaptive intervals.

Pure functions on plain values. Like Jenkins' ``H``, each source gets a stable
offset inside its interval (a hash of its id), so a thousand sources with the
same interval do not all fall due in the same second.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_BACKOFF_STEPS = 10
# Share of a check lock's life in which a batch's reads must end; the rest is for
# writing their results (a check task's soft time limit is at least 0.9 of it).
READS_SHARE = 0.8


@dataclass(frozen=True)
class Cadence:
    """The bounds every interval stays within, in seconds."""

    default: int
    minimum: int
    maximum: int

    def clamp(self, seconds: float) -> float:
        return max(self.minimum, min(self.maximum, seconds))


def stable_offset(source_id: int, interval: float) -> float:
    """Seconds into each interval at which this source is checked; the same every time."""
    digest = hashlib.blake2b(str(source_id).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 10_000) / 10_000 * interval


def effective_interval(
    cadence: Cadence,
    interval: int | None,
    failures: int = 0,
    changed_recently: bool = False,
) -> float:
    """The interval to use now.

    Failing sources back off exponentially (2, 4, 8 … times the interval, up to
    the maximum); sources that changed recently are checked twice as often,
    never below the minimum.
    """
    base = cadence.clamp(interval or cadence.default)
    if failures > 0:
        return cadence.clamp(base * 2 ** min(failures, MAX_BACKOFF_STEPS))
    if changed_recently:
        return cadence.clamp(base / 2)
    return base


def next_check_at(
    now: datetime,
    source_id: int,
    interval: float,
    failures: int = 0,
    jitter: float = 0.05,
    rng: random.Random | None = None,
) -> datetime:
    """The next slot of this source after ``now``, plus a little jitter.

    Healthy sources are aligned to their stable offset; failing ones simply
    wait their back-off interval from now. Jitter is at most ``jitter`` of the
    interval, so the schedule stays predictable.
    """
    rng = rng or random
    spread = rng.uniform(0, interval * jitter)
    if failures:
        return now + timedelta(seconds=interval + spread)
    offset = stable_offset(source_id, interval)
    epoch = now.timestamp()
    slot = (epoch - offset) // interval * interval + offset + interval
    if slot - epoch < interval / 2:  # never sooner than half an interval after a check
        slot += interval
    return now + timedelta(seconds=slot - epoch + spread)


def changed_recently(
    now: datetime, last_changed_at: datetime | None, interval: float, window: int = 4
) -> bool:
    """True when the source changed within the last ``window`` intervals."""
    if last_changed_at is None:
        return False
    return (now - last_changed_at).total_seconds() < interval * window
