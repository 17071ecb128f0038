"""The tick's one query: the due sources among 100,000, with and without its index.

Ours is the due query exactly as the tick runs it, served by the partial
indexes ``sourcestate_due`` (few due) and ``sourcestate_due_by_priority`` (a
backlog). The anchor is the *same* query in the same scratch database after
both are dropped (so the database must scan the table): what the indexes buy.
The ratio is a cost ratio (with ÷ without); the goal is on our absolute time,
since that is what bounds a tick.

The table is shaped like a production one: every source checked hourly, the
next checks spread evenly over the hour, one in ten disabled, five priority
levels; so at any minute about 1.5% of sources are due. A backlog (every
enabled source due at once, after an outage) is measured too, in details.
"""

from __future__ import annotations

import random
from datetime import timedelta

from benchmarks.scratch_db import scratch_database
from benchmarks.timing import figure, interleaved, median_ms, spread

CHUNK = 500
INTERVAL = 3600
GOAL_MS = 50.0
BATCH = 5000


def measure(ctx, quick: bool) -> dict:
    """Fill a scratch database, time the due query with its index, drop it, time again."""
    database = ctx.enter(scratch_database(ctx.tmp))
    ctx.notes.append(f"database: {database}")
    from django.utils import timezone

    now = timezone.now()
    rows = ctx.sizes.due_rows
    _fill(rows, now)
    backlog = now + timedelta(seconds=2 * INTERVAL)
    with_index = _time_queries(ctx, now, backlog)
    dropped = _drop_due_indexes()
    without_index = _time_queries(ctx, now, backlog)
    ours, theirs = median_ms(with_index["due"]), median_ms(without_index["due"])
    return {
        "due_select_100k_ms": figure(
            ours,
            theirs,
            ours / theirs,
            unit="ms per query",
            anchor_is=f"the same query after dropping the indexes {', '.join(dropped)} "
            "(a table scan)",
            goal=f"ours <= {GOAL_MS:g} ms",
            met=ours <= GOAL_MS,
            database=database,
            rows=rows,
            chunk=CHUNK,
            due_now=_count_due(now),
            with_index=_spreads(with_index),
            without_index=_spreads(without_index),
            plan_with_index=with_index["plan"],
            plan_without_index=without_index["plan"],
            plan_uses_index=any(name in with_index["plan"] for name in dropped),
            backlog_plan_with_index=with_index["backlog_plan"],
            note="" if rows >= 100_000 else f"--smoke: {rows} rows instead of 100,000",
        )
    }


def due_query(now):
    """The due query of the tick (see the tick task), a chunk at a time."""
    from capomastro_changes.models import SourceState

    queryset = SourceState.objects.filter(enabled=True, next_check_at__lte=now)
    return queryset.order_by("-priority", "next_check_at").values_list("source_id", flat=True)[
        :CHUNK
    ]


def _fill(rows: int, now) -> None:
    """Bulk-create ``rows`` sources and their states, then let the database gather statistics."""
    from django.db import connection, transaction

    from capomastro_changes.models import Source, SourceState
    from capomastro_changes.vcs.identity import url_key

    spread_over = random.Random(7)
    for start in range(0, rows, BATCH):
        numbers = range(start, min(start + BATCH, rows))
        sources, states = [], []
        for n in numbers:
            url = f"https://git.example.com/team{n % 97}/repo{n}.git"
            sources.append(
                Source(id=n + 1, vcs="git", url=url, branch="main", url_key=url_key(url))
            )
            sources[-1].branch_key = "main"
            due_in = spread_over.uniform(-60, INTERVAL - 60)
            states.append(
                SourceState(
                    source_id=n + 1,
                    enabled=n % 10 != 0,
                    priority=n % 5,
                    interval=INTERVAL,
                    next_check_at=now + timedelta(seconds=due_in),
                )
            )
        with transaction.atomic():
            Source.objects.bulk_create(sources, batch_size=1000)
            SourceState.objects.bulk_create(states, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _time_queries(ctx, now, backlog) -> dict:
    """The due query now and in a backlog, interleaved; and its plan now."""
    samples = interleaved(
        {"due": lambda: list(due_query(now)), "backlog": lambda: list(due_query(backlog))},
        ctx.sizes.warmups,
        ctx.sizes.rounds,
    )
    samples["plan"] = due_query(now).explain()
    samples["backlog_plan"] = due_query(backlog).explain()
    return samples


def _spreads(samples: dict) -> dict:
    return {key: spread(values) for key, values in samples.items() if not key.endswith("plan")}


def _drop_due_indexes() -> list[str]:
    """Drop the due indexes from the scratch database; returns their names."""
    from django.db import connection

    from capomastro_changes.models import SourceState

    indexes = [i for i in SourceState._meta.indexes if i.name.startswith("sourcestate_due")]
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.remove_index(SourceState, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return [index.name for index in indexes]


def _count_due(now) -> int:
    """How many sources are due at ``now`` (the chunk takes the first 500 by priority)."""
    from capomastro_changes.models import SourceState

    return SourceState.objects.filter(enabled=True, next_check_at__lte=now).count()
