"""Checking many sources in one task: one round trip, a constant number of statements.

Most checks find nothing new. One task per check spends ten times the read on
bookkeeping (a task, a lock, six statements); a batch shares it. The batch
takes its sources' check locks in one Redis round trip (the locks stay one
per source: a push, "check now" or another sweep that finds one held leaves it
due, and this check, ending, keeps it due for one more look), reads its
sources in threads, several at once (each read keeps its own deadline, so a
hung server holds up no other), and writes every unchanged source in a fixed
number of statements: their history rows in one INSERT, their states in one
UPDATE. A source that changed, failed, or has a dependency behind is concluded
one by one as a single check would be (they are few), so requests, locks and
triggers go on exactly as before.

A batch never outlives its check locks: its reads must end within the first
:data:`~.scheduling.READS_SHARE` of the locks' life. A read that starts late
gets the time that is left instead of ``PROBE_TIMEOUT``; if that runs out, or
none is left (only behind slow or hung reads), the source is left untouched
for the next sweep, which finds it due again when the sweep's hold ends.

Sources probed through Jenkins are not batched: their checks wait on Jenkins,
so each goes back to a check task of its own.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, wait

from celery.exceptions import CeleryError, SoftTimeLimitExceeded
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from capomastro_changes import enqueue, metrics
from capomastro_changes.conf import settings
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.detection import history
from capomastro_changes.detection.compare import decide
from capomastro_changes.detection.conclusion import any_behind, conclude, move_state, record_of
from capomastro_changes.detection.probing import prepared_probe, probing_job
from capomastro_changes.detection.scheduling import READS_SHARE
from capomastro_changes.models import CheckRecord, Dependency, JobType, SourceState
from capomastro_changes.revisions import Outcome, StoredState, vetted

log = logging.getLogger(__name__)
# The least time worth starting a read with, when the batch's reading time runs out.
MIN_READ_SECONDS = 0.25


def check_batch(source_ids: list[int]) -> Counter:
    """Check ``source_ids`` now, together; how many ended in each outcome.

    Sources another check holds are skipped (counted as ``busy``) and left due,
    as a single check leaves them; ids with no source (deleted since the sweep)
    are counted as ``gone``.
    """
    ids = list(dict.fromkeys(source_ids))
    locks = keyspaces().checks
    ttl = settings.seconds("CHECK_LOCK_TTL")
    reads_end_by = time.monotonic() + READS_SHARE * ttl
    held = locks.acquire_many(ids)
    busy = [source_id for source_id in ids if source_id not in held]
    if busy:  # the holder's check keeps them due when it ends: one more look
        SourceState.objects.make_due(_not_probed_through_jenkins(busy))
    outcomes = Counter(busy=len(busy))
    to_jenkins: list[int] = []
    try:
        states = SourceState.objects.select_related("source").in_bulk(list(held))
        outcomes["gone"] = len(held) - len(states)
        dependencies = defaultdict(list)
        for dep in (
            Dependency.objects.filter(source_id__in=list(held))
            .select_related("job__jobtype", "job__server")
            .order_by("-priority", "pk")
        ):
            dependencies[dep.source_id].append(dep)
        probes = {}  # read in the sweep's order: the highest priority first
        for source_id in (s for s in ids if s in states):
            state = states[source_id]
            job = probing_job(dependencies[source_id])
            if job and job.jobtype.probe_runner == JobType.PROBE_JENKINS:
                to_jenkins.append(source_id)
                continue
            jobtype = job.jobtype if job else None
            probes[source_id] = prepared_probe(state.source, jobtype, dependencies[source_id])
        if to_jenkins:  # never read here: their own tasks take their locks now, not later
            locks.release_many({source_id: held.pop(source_id) for source_id in to_jenkins})
            _send_to_their_own_tasks(to_jenkins)
        # A little past the reads' end, well before the task's soft time limit (0.9).
        answers = read_all(probes, reads_end_by, reads_end_by + 0.05 * ttl)
        left = [source_id for source_id, answer in answers.items() if answer is None]
        if left:  # untouched: the sweep's hold on them ends about when this batch does
            _say_left(left)
            outcomes["left for the next sweep"] = len(left)
            answers = {k: v for k, v in answers.items() if v is not None}
        outcomes.update(conclude_all(states, dependencies, probes, answers))
    finally:
        lost = locks.release_many(held)
        if lost:
            log.warning("check locks expired during a batch: %s", ", ".join(lost))
    outcomes["to jenkins"] = len(to_jenkins)
    log.info("batch of %d sources (%s): %s", len(ids), _some(ids), _summary(outcomes))
    return outcomes


def read_all(
    probes: dict, end_by: float | None = None, give_up_at: float | None = None
) -> dict[int, tuple | None]:
    """Every probe run, ``CHECK_BATCH_THREADS`` at once: ``{source: (started, answer)}``.

    Each read keeps its own deadline and start time, so a hung source costs one
    thread its timeout and delays no other read's answer. With ``end_by``
    (``time.monotonic``), a read gets at most the time left until then; a
    source whose read could not start, or ran out of that shortened time,
    answers None: not read, rather than blamed for the batch's own deadline.
    At ``give_up_at`` the batch stops waiting: a read still running then
    ignores its deadline (bzr+ssh's ``ssh`` child can), and answers None too.
    """
    if not probes:
        return {}
    timeout = settings.seconds("PROBE_TIMEOUT")

    def run(item):
        source_id, probe = item
        given = timeout if end_by is None else min(timeout, end_by - time.monotonic())
        if given < min(timeout, MIN_READ_SECONDS):
            return source_id, None
        started = timezone.now()
        if given >= timeout:
            return source_id, (started, probe())
        answer = probe(given)
        if answer.error and answer.seconds >= given * 0.9:  # cut short by our deadline
            return source_id, None
        return source_id, (started, answer)

    futures = [_readers().submit(run, item) for item in probes.items()]
    patience = None if give_up_at is None else max(0.0, give_up_at - time.monotonic())
    done, running = wait(futures, timeout=patience)
    answers = dict.fromkeys(probes)  # None until answered, in the batch's order
    answers.update(future.result() for future in done)
    if running:
        stuck = [source_id for source_id, f in zip(probes, futures, strict=True) if f in running]
        _abandon_readers()
        log.warning(
            "batch stopped waiting for reads that outlived their deadline (%s); "
            "their threads are left behind, and fresh ones read from now on", _some(stuck),
        )  # fmt: skip
    return answers


def _abandon_readers() -> None:
    """Leave this thread's reader threads to finish on their own and start new ones:
    a read stuck past its deadline must not hold a reader from every later batch."""
    pool = getattr(_LOCAL, "pool", None)
    if pool is not None:
        pool[2].shutdown(wait=False, cancel_futures=True)
    _LOCAL.pool = None


def _not_probed_through_jenkins(source_ids: list[int]) -> list[int]:
    """Of sources found held, those whose holder is a read, not a probe job in Jenkins.

    A probe through Jenkins holds its source for minutes; made due meanwhile, it
    would be probed again as soon as it ends, and again: a loop of Jenkins jobs.
    """
    through_jenkins = Dependency.objects.filter(
        source_id__in=source_ids, job__jobtype__probe_runner=JobType.PROBE_JENKINS
    ).values_list("source_id", flat=True)
    return sorted(set(source_ids) - set(through_jenkins))


def _send_to_their_own_tasks(source_ids: list[int]) -> None:
    """A check task each; one the broker refuses keeps the sweep's hold and is sent again."""
    try:
        for source_id in source_ids:
            enqueue.send("capomastro_changes.check_source", source_id)
    except (KombuError, CeleryError, OSError) as exc:
        log.warning(
            "batch could not send sources probed through Jenkins (%s) to their own tasks "
            "(%s): the next sweep sends them again", _some(source_ids), type(exc).__name__,
        )  # fmt: skip


def _say_left(left: list[int]) -> None:
    ttl = settings.seconds("CHECK_LOCK_TTL")
    log.warning(
        "batch left %d sources to the next sweep (%s): not read within the batch's "
        "reading time, %g s (%g × CHECK_LOCK_TTL)",
        len(left), _some(left), READS_SHARE * ttl, READS_SHARE,
    )  # fmt: skip


_LOCAL = threading.local()


def _readers() -> ThreadPoolExecutor:
    """This task thread's reader threads, started once (after a fork, anew): a batch is
    too short to pay for starting its threads each time. One pool per thread that runs
    batches, so batches side by side (a threads pool) never wait for each other's reads."""
    threads = max(1, int(settings.CHECK_BATCH_THREADS))
    pool = getattr(_LOCAL, "pool", None)
    if pool is None or pool[:2] != (os.getpid(), threads):
        pool = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="check"))
        _LOCAL.pool = pool
    return pool[2]


def conclude_all(states, dependencies, probes, answers) -> Counter:
    """Unchanged sources in a fixed number of statements; the rest one by one."""
    plain, outcomes = [], Counter()
    for source_id, (started, answer) in answers.items():
        state = states[source_id]
        answer = vetted(answer)
        decision = decide(StoredState(state.last_revision or None, state.last_revno), answer)
        if (
            decision.outcome is Outcome.UNCHANGED
            and answer.revision.revno == state.last_revno
            and not any_behind(dependencies[source_id], answer.revision.id)
        ):
            plain.append((state, decision, answer, started))
            continue
        try:  # each source its own boundary: one that cannot be concluded stops no other
            record = conclude(
                state, answer, probes[source_id].name, started, dependencies[source_id]
            )
        except SoftTimeLimitExceeded:  # the task's time is up: stop, as tasks.py intends
            raise
        except Exception:  # its state did not move: the next sweep checks it again
            log.exception("check of source %s could not be concluded", source_id)
            outcomes["not concluded"] += 1
            continue
        outcomes[record.outcome] += 1
    if plain:
        written = save_unchanged(plain, probes)
        outcomes["unchanged"] += written
        outcomes["gone"] += len(plain) - written
    return outcomes


def save_unchanged(plain: list[tuple], probes) -> int:
    """History rows in one INSERT, states in one UPDATE, whatever the number of sources;
    how many were written.

    A source deleted while it was read would fail the INSERT for all: the rows
    are then written again without the sources that are gone.
    """
    now = timezone.now()
    records, next_checks = [], {}
    for state, decision, answer, started in plain:
        records.append(record_of(state, decision, answer, probes[state.pk].name, started))
        move_state(state, decision, answer, now)
        next_checks[state.pk] = (started, state.next_check_at)
    try:
        _write_unchanged(records, now, next_checks)
    except IntegrityError:
        still = set(
            SourceState.objects.filter(pk__in=list(next_checks)).values_list("pk", flat=True)
        )
        log.warning(
            "batch: sources deleted while they were read: %d; the rest are written",
            len(next_checks) - len(still),
        )
        plain = [item for item in plain if item[0].pk in still]
        records = [record for record in records if record.source_id in still]
        _write_unchanged(records, now, {k: v for k, v in next_checks.items() if k in still})
    for (state, _, answer, _), record in zip(plain, records, strict=True):
        metrics.record_check(state.source.vcs, Outcome.UNCHANGED.value, answer.seconds)
        if record.pk and history.due_for_pruning(record):
            history.prune_history(state.pk)
    return len(records)


def _write_unchanged(records: list, now, next_checks: dict) -> None:
    with transaction.atomic():
        CheckRecord.objects.bulk_create(records)
        _update_unchanged(now, next_checks)


def _update_unchanged(now, next_checks: dict) -> None:
    """One UPDATE for every unchanged source, each with its own next check.

    Written as SQL: the ORM's ``Case``/``When`` resolves one lookup per source
    and cost more CPU than the checks themselves. A push or "check now" that
    made a source due while it was probed keeps it due (``now``): it is looked
    at exactly once more, as after a single check.
    """
    meta = SourceState._meta
    column = {f.name: connection.ops.quote_name(f.column) for f in meta.fields}
    key, due = column["source"], column["next_check_at"]
    value = connection.ops.adapt_datetimefield_value
    whens, params = [], []
    for pk, (started, next_at) in next_checks.items():
        whens.append(f"WHEN {key} = %s AND {due} BETWEEN %s AND %s THEN %s WHEN {key} = %s THEN %s")
        params += [pk, value(started), value(now), value(now), pk, value(next_at)]
    ids = list(next_checks)
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET "
        f"{column['last_checked_at']} = %s, {column['last_outcome']} = %s, "
        f"{column['last_error']} = %s, {column['consecutive_failures']} = 0, "
        f"{due} = CASE {' '.join(whens)} END "
        f"WHERE {key} IN ({', '.join(['%s'] * len(ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value(now), Outcome.UNCHANGED.value, "", *params, *ids])


def batches(source_ids: list[int], workers: int, largest: int) -> list[list[int]]:
    """Due sources cut into batches, one per worker round: never one source twice."""
    ids = list(dict.fromkeys(source_ids))
    if not ids:
        return []
    size = max(1, min(largest, -(-len(ids) // max(1, workers))))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _some(ids: list[int], shown: int = 10) -> str:
    """The first ids of a list, for a log line."""
    return ", ".join(map(str, ids[:shown])) + (", …" if len(ids) > shown else "")


def _summary(outcomes: Counter) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()) if n) or "none"
