"""``capomastro-changes check`` and ``status``: the operator's view from a terminal.

A source is named as the admin names it: by id, by its URL (as the list shows
it, password as ``***`` or not, with or without ``.git`` and a trailing
``/``, optionally followed by `` [branch]``), or by the name of a dependency
built from it. A name that matches nothing stops the command before any
check runs, so a typo is never taken for "nothing to do".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from django.utils import timezone

from bygmester_hooks import bounds
from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import unreachable
from capomastro_changes.coordination.errors import CoordinationError, LockError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.detection.check import check_source
from capomastro_changes.detection.probing import jenkins_job_for
from capomastro_changes.models import Dependency, Source, SourceState
from capomastro_changes.redaction import redact_text, redact_url
from capomastro_changes.revisions import short_revision
from capomastro_changes.site.data_dir import in_use
from capomastro_changes.vcs.identity import branch_key, url_key

FAILED_OUTCOMES = ("error", "missing")
_WITH_BRANCH = re.compile(r"^(?P<url>\S+) \[(?P<branch>[^\]]*)\]$")
HOW_TO_NAME = "give a source id, its URL as the admin shows it, or a dependency name"


class UnknownSource(LookupError):
    """A SOURCE argument that names no source."""


def progress(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def sources_named(name: str) -> list[int]:
    """The ids of the sources ``name`` stands for, in id order.

    Raises:
        UnknownSource: no source has that id, URL, or dependency name.
    """
    name = name.strip()
    if bounds.whole_number(name, bounds.BIGINT_MAX) is not None:
        found = Source.objects.filter(pk=int(name))
    elif Dependency.objects.filter(name=name, source__isnull=False).exists():
        found = Source.objects.filter(dependencies__name=name)
    else:
        written = _WITH_BRANCH.match(name)
        found = Source.objects.filter(url_key=url_key(written["url"] if written else name))
        if written:
            found = found.filter(branch_key=branch_key(written["branch"]))
    ids = sorted(set(found.values_list("pk", flat=True)))
    if not ids:
        raise UnknownSource(f"unknown source {redact_url(name)!r}: {HOW_TO_NAME}")
    return ids


def resolve(names: list[str]) -> list[int]:
    """Every source the arguments name, once each, in the order first named.

    Raises:
        UnknownSource: one or more names match nothing; the message lists them all.
    """
    ids: list[int] = []
    unknown = []
    for name in names:
        try:
            ids += [pk for pk in sources_named(name) if pk not in ids]
        except UnknownSource as exc:
            unknown.append(str(exc))
    if unknown:
        raise UnknownSource("\n".join(unknown))
    return ids


def check(names: list[str], every: bool = False) -> int:
    """Check sources now, in this process, with a progress bar and each outcome as it comes.

    Returns:
        0 when every check went through, 1 when one failed (an error, a
        missing branch, Redis away), 2 when there was nothing (known) to check.
    """
    try:
        ids = [] if every else resolve(names)
    except UnknownSource as exc:
        print(f"capomastro-changes check: {exc}; nothing checked", file=sys.stderr)
        return 2
    states = SourceState.objects.select_related("source").order_by("source_id")
    states = list(states.filter(enabled=True) if every else states.filter(source_id__in=ids))
    if not states:
        print(f"no sources to check ({HOW_TO_NAME}, or --all)", file=sys.stderr)
        return 2
    silent = unreachable()
    if silent:  # said once, not once per source (each would wait out the socket timeout)
        print(f"capomastro-changes check: Redis did not answer ({redact_text(silent)}); "
              "nothing checked", file=sys.stderr)  # fmt: skip
        return 1
    failed = 0
    for n, state in enumerate(states, 1):
        outcome, bad = check_one(state.source_id)
        failed += bad
        print(f"{progress(n, len(states))} #{state.source_id} {state.source}: {outcome}")
        if bad and unreachable() and n < len(states):
            print(f"capomastro-changes check: Redis stopped answering; {len(states) - n} "
                  "sources not checked", file=sys.stderr)  # fmt: skip
            return 1
    return 1 if failed else 0


def check_one(source_id: int) -> tuple[str, bool]:
    """One check, as a line's ending: the outcome (with its error), and whether it failed."""
    try:
        record = check_source(source_id)
    except (LockError, CoordinationError) as exc:
        return f"could not check: {redact_text(str(exc))}", True
    if record is None and jenkins_job_for(source_id) is not None:
        return "probe running in Jenkins; its result joins the check history", False
    if record is None:
        return "skipped (a check is running already; the next sweep checks it again)", False
    detail = f": {redact_text(record.error)}" if record.error else ""
    return f"{record.outcome}{detail}", record.outcome in FAILED_OUTCOMES


def status() -> int:
    """A table of sources, their last outcome and their dependencies' locks.

    Returns:
        0, or 1 with a one-line error when Redis (where the locks live) does not answer.
    """
    running = instance_running()
    try:
        rows = status_rows(read_locks=running)
    except CoordinationError as exc:
        print(
            "capomastro-changes status: cannot read the build locks, Redis did not answer "
            f"({type(exc).__name__}: {redact_text(str(exc))})",
            file=sys.stderr,
        )
        return 1
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    if not running:
        print("(build locks not read: no instance is running on this data)")
    return 0


def instance_running() -> bool:
    """Whether there are locks to read: a configured Redis, or an instance's embedded one.

    ``status`` only looks: on a stopped instance's data it starts no Redis of
    its own (which would write into the data directory) and says so instead.
    """
    return bool(settings.redis_url()) or bool(in_use(Path(settings.DATA_DIR or ".")))


def status_rows(read_locks: bool = True) -> list[tuple]:
    """The header and one row per source; every lock is read before anything is printed."""
    locks = keyspaces().locks if read_locks else None
    rows = [("source", "vcs", "revision", "last outcome", "next check", "locks")]
    for state in SourceState.objects.select_related("source").order_by("source_id"):
        held = []
        if locks is None:
            held.append("not read: no instance running")
        for dep in state.source.dependencies.all() if locks is not None else ():
            lock = locks.inspect(dep.pk)
            if lock.holder:
                waiting = f", #{lock.waiter.request} waits" if lock.waiter else ""
                held.append(f"{dep.name}: #{lock.holder.request} builds{waiting}")
        revision = short_revision(state.last_revision, state.last_revno, "-")
        when = (
            f"{timezone.localtime(state.next_check_at):%Y-%m-%d %H:%M:%S %Z}"
            if state.next_check_at
            else "-"
        )
        rows.append((f"#{state.source_id} {state.source}", state.source.vcs, revision or "-",
                     state.last_outcome or "-", when, "; ".join(held) or "free"))  # fmt: skip
    return rows
