"""``capomastro-changes check`` and ``status``: the operator's view from a terminal."""

from __future__ import annotations

import sys

from capomastro_changes.checking import check_source
from capomastro_changes.models import SourceState
from capomastro_changes.redis_connection import coordination


def progress(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def check(source_ids: list[int], every: bool = False) -> int:
    """Check sources now, in this process, with a progress bar and each outcome as it comes."""
    states = SourceState.objects.select_related("source").order_by("source_id")
    states = states.filter(enabled=True) if every else states.filter(source_id__in=source_ids)
    states = list(states)
    if not states:
        print("no sources to check (give source ids, or --all)", file=sys.stderr)
        return 2
    failed = 0
    for n, state in enumerate(states, 1):
        record = check_source(state.source_id)
        outcome = record.outcome if record else "skipped (a check is running)"
        failed += bool(record and record.outcome in ("error", "missing"))
        detail = f": {record.error}" if record and record.error else ""
        print(f"{progress(n, len(states))} #{state.source_id} {state.source}: {outcome}{detail}")
    return 1 if failed else 0


def status() -> int:
    """A table of sources, their last outcome and their dependencies' locks."""
    locks = coordination()[0]
    rows = [("source", "vcs", "revision", "last outcome", "next check", "locks")]
    for state in SourceState.objects.select_related("source").order_by("source_id"):
        held = []
        for dep in state.source.dependencies.all():
            lock = locks.inspect(dep.pk)
            if lock.holder:
                waiting = f", #{lock.waiter.request} waits" if lock.waiter else ""
                held.append(f"{dep.name}: #{lock.holder.request} builds{waiting}")
        revision = state.last_revision[:12] + (f" r{state.last_revno}" if state.last_revno else "")
        when = f"{state.next_check_at:%H:%M:%S}" if state.next_check_at else "-"
        rows.append((f"#{state.source_id} {state.source}", state.source.vcs, revision or "-",
                     state.last_outcome or "-", when, "; ".join(held) or "free"))  # fmt: skip
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
