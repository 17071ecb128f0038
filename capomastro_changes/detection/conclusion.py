"""Concluding a check: write it down, move the source's state, request what is behind.

State moves only as the compare rules allow: an error or a missing branch is
recorded and backed off, never taken for a change; a change becomes one
rebuild request per dependency that is behind, whatever the number of
workers and retries.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Case, DateTimeField, Min, Value, When
from django.utils import timezone

from capomastro_changes import metrics
from capomastro_changes.conf import settings
from capomastro_changes.detection import history, scheduling
from capomastro_changes.detection.compare import decide
from capomastro_changes.models import CheckRecord, Dependency, RebuildRequest, SourceState
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.revisions import Decision, Outcome, ProbeAnswer, StoredState, vetted

log = logging.getLogger(__name__)


def conclude(
    state: SourceState,
    answer: ProbeAnswer,
    probe_name: str,
    started: datetime,
    dependencies: list[Dependency] | None = None,
) -> CheckRecord:
    """Record what a probe answered, schedule the next check, request what is behind.

    ``dependencies`` are the source's as read before the probe, when the caller
    has them: if none of them is behind, no request is looked for.
    """
    answer = vetted(answer)  # an option-like or overlong revision is an error, never state
    decision = decide(StoredState(state.last_revision or None, state.last_revno), answer)
    with transaction.atomic():
        record = record_of(state, decision, answer, probe_name, started)
        record.save()
        update_state(state, decision, answer, started)
        if decision.outcome is Outcome.BASELINE:
            Dependency.objects.filter(source_id=state.pk, last_built_revision="").update(
                last_built_revision=answer.revision.id, last_built_revno=answer.revision.revno
            )
        elif answer.ok and any_behind(dependencies, answer.revision.id):
            request_behind(state, decision, answer)
    log_outcome(state, decision)
    metrics.record_check(state.source.vcs, decision.outcome.value, answer.seconds)
    if history.due_for_pruning(record):
        history.prune_history(state.pk)
    return record


def record_of(
    state: SourceState, decision: Decision, answer: ProbeAnswer, probe_name: str, started
) -> CheckRecord:
    """The check's history row, not saved yet (a batch saves many in one statement)."""
    return CheckRecord(
        source_id=state.pk,
        started_at=started,
        duration_ms=round(answer.seconds * 1000, 3),
        outcome=decision.outcome.value,
        old_revision=state.last_revision,
        old_revno=state.last_revno,
        new_revision=answer.revision.id if answer.revision else "",
        new_revno=answer.revision.revno if answer.revision else None,
        probe=probe_name,
        error=answer.error,
    )


STATE_FIELDS = [
    "last_checked_at",
    "last_outcome",
    "last_error",
    "consecutive_failures",
    "last_revision",
    "last_revno",
    "last_changed_at",
    "next_check_at",
]


def update_state(
    state: SourceState, decision: Decision, answer: ProbeAnswer, started: datetime
) -> None:
    now = timezone.now()
    move_state(state, decision, answer, now)
    fields = {name: getattr(state, name) for name in STATE_FIELDS}
    # A push or "check now" that made the source due while we probed is kept:
    # the source is looked at exactly once more. Decided in the UPDATE itself.
    fields["next_check_at"] = Case(
        When(next_check_at__range=(started, now), then=Value(now)),
        default=Value(state.next_check_at),
        output_field=DateTimeField(),
    )
    SourceState.objects.filter(pk=state.pk).update(**fields)


def move_state(state: SourceState, decision: Decision, answer: ProbeAnswer, now) -> None:
    """Move ``state`` (in memory) as the check's decision says, and set its next check."""
    failed = decision.outcome in (Outcome.ERROR, Outcome.MISSING)
    state.last_checked_at = now
    state.last_outcome = decision.outcome.value
    state.last_error = answer.error if failed else ""
    state.consecutive_failures = state.consecutive_failures + 1 if failed else 0
    if answer.ok:
        state.last_revision, state.last_revno = answer.revision.id, answer.revision.revno
    if decision.triggers_build:
        state.last_changed_at = now
    cadence = scheduling.Cadence(
        settings.CHECK_INTERVAL, settings.MIN_CHECK_INTERVAL, settings.MAX_CHECK_INTERVAL
    )
    recent = scheduling.changed_recently(
        now, state.last_changed_at, state.interval or cadence.default
    )
    interval = scheduling.effective_interval(
        cadence, state.interval, state.consecutive_failures, recent
    )
    state.next_check_at = scheduling.next_check_at(
        now, state.pk, interval, failures=state.consecutive_failures
    )


def any_behind(dependencies: list[Dependency] | None, revision: str) -> bool:
    """Whether an enabled dependency may not have built ``revision`` (True when unknown).

    A dependency read as up to date before the probe and rolled back since is
    found behind by the next check.
    """
    if dependencies is None:
        return True
    return any(d.changes_enabled and d.last_built_revision != revision for d in dependencies)


def request_behind(state: SourceState, decision: Decision, answer: ProbeAnswer) -> None:
    """One request per enabled dependency not built at this revision and not asking for it.

    Deduplication is against what is active and what the dependency is built
    at now, never against history: a revision built once, withdrawn (a
    force-push back, a bzr uncommit) and restored is built again, and one a
    busy policy dropped is asked for again once its dependency is free.
    """
    revision = answer.revision
    behind = list(
        Dependency.objects.filter(source_id=state.pk, changes_enabled=True).exclude(
            last_built_revision=revision.id
        )
    )
    if not behind:
        return
    asked = set(
        RebuildRequest.objects.active()
        .filter(dependency__in=behind, revision=revision.id)
        .values_list("dependency_id", flat=True)
    )
    asked |= already_refused(behind, revision.id)
    reason = "rewritten" if decision.outcome is Outcome.REWRITTEN else "change"
    for dep in behind:
        if dep.pk not in asked:
            request_rebuild(
                dep, revision.id, reason, revno=revision.revno,
                previous_revision=dep.last_built_revision, requested_by="change detection",
            )  # fmt: skip


def already_refused(deps: list[Dependency], revision: str) -> set[int]:
    """Dependencies whose busy policy already dropped ``revision`` during the build still on.

    ``discard`` and ``fail`` answer once per revision while one build runs (a
    check every minute during a long build would otherwise record a skip, or
    an error, every minute); once nothing is active the revision is asked for.
    """
    busy = {
        dep_id: started
        for dep_id, started in RebuildRequest.objects.active()
        .filter(dependency__in=deps)
        .values("dependency_id")
        .annotate(started=Min("created_at"))
        .values_list("dependency_id", "started")
        .order_by()
    }
    if not busy:
        return set()
    dropped = RebuildRequest.objects.filter(
        dependency_id__in=busy, revision=revision, state__in=("discarded", "refused")
    ).values_list("dependency_id", "created_at")
    return {dep_id for dep_id, made in dropped if made >= busy[dep_id]}


def log_outcome(state: SourceState, decision: Decision) -> None:
    if decision.outcome is Outcome.REWRITTEN:
        log.warning("history of %s was rewritten: %s", state.source, decision.reason)
    elif decision.outcome in (Outcome.ERROR, Outcome.MISSING):
        log.warning("check of %s: %s: %s", state.source, decision.outcome, decision.reason)
    else:
        log.info("check of %s: %s", state.source, decision.outcome)
