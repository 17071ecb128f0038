"""Timing and the shape of a figure: warm-ups, interleaved rounds, medians, ratios.

These machines are noisy, so a figure is never one absolute time: ours and its
anchor are sampled in alternating rounds (ours, anchor, ours, anchor, ...) so
that a slow second hits both alike, and the ratio of the two medians is what
is reported and judged.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """How much work one run does; ``--quick`` and ``--smoke`` shrink it.

    Attributes:
        name: ``full``, ``quick`` or ``smoke``, written into the JSON.
        warmups: Untimed calls before sampling (connections, caches, imports).
        rounds: Timed rounds; each round times every contender once.
        cli_rounds: Rounds for anchors that start a process (``brz`` is slow).
        many_refs: Refs in the "many refs" git repository.
        due_rows: Sources in the due-selection table.
        lock_pairs: Acquire/release pairs per throughput sample.
    """

    name: str
    warmups: int
    rounds: int
    cli_rounds: int
    many_refs: int
    due_rows: int
    lock_pairs: int


FULL = Sizes("full", 5, 41, 11, 100_000, 100_000, 20_000)
QUICK = Sizes("quick", 3, 21, 5, 20_000, 100_000, 5_000)
SMOKE = Sizes("smoke", 1, 3, 1, 500, 2_000, 200)


def time_once(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def interleaved(
    contenders: dict[str, Callable[[], object]], warmups: int, rounds: int
) -> dict[str, list[float]]:
    """Time each contender ``rounds`` times, alternating, after ``warmups`` untimed calls.

    Returns:
        Seconds per call, per contender.
    """
    for _ in range(warmups):
        for call in contenders.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, call in contenders.items():
            samples[name].append(time_once(call))
    return samples


def median_ms(samples: list[float]) -> float:
    """The median of samples in seconds, in milliseconds."""
    return statistics.median(samples) * 1000.0


def spread(samples: list[float]) -> dict[str, float]:
    """Median and quartiles in milliseconds, so the JSON shows how noisy a figure was."""
    if len(samples) < 2:
        return {"median_ms": _round(median_ms(samples)), "n": len(samples)}
    quartiles = statistics.quantiles(samples, n=4)
    return {
        "median_ms": _round(median_ms(samples)),
        "p25_ms": _round(quartiles[0] * 1000.0),
        "p75_ms": _round(quartiles[2] * 1000.0),
        "n": len(samples),
    }


def _round(value: float) -> float:
    """Four significant digits: enough for a ratio, short enough to read."""
    return float(f"{value:.4g}")


def figure(
    value: float,
    anchor: float,
    ratio: float,
    *,
    unit: str,
    anchor_is: str,
    goal: str,
    met: bool,
    **details: object,
) -> dict:
    """One figure as the JSON holds it.

    Args:
        value: Our measurement, in ``unit``.
        anchor: The anchor's measurement, in ``unit``.
        ratio: What the goal judges (see the figure's module for its direction).
        unit: The unit of ``value`` and ``anchor``.
        anchor_is: What the anchor is, in words.
        goal: The goal, in words (e.g. ``ratio <= 0.1``).
        met: Whether this run met the goal.
        **details: Anything else worth keeping (per transport, plans, sizes).
    """
    return {
        "status": "measured",
        "value": _round(value),
        "anchor": _round(anchor),
        "ratio": _round(ratio),
        "unit": unit,
        "anchor_is": anchor_is,
        "goal": goal,
        "met": bool(met),
        "details": details,
    }


def not_measured(reason: str) -> dict:
    """A figure this run could not measure, with the reason."""
    return {"status": f"not measured: {reason}"}
