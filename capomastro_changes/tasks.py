"""Celery tasks: thin entry points into the modules that do the work; the only tasks module.

Every task is safe to run twice (redelivery, a second beat, a retry): the
modules behind them check state and locks when the task runs.

Every task has a time limit sized to what it waits for (Jenkins calls of
JENKINS_TIMEOUT each, a probe, a check lock's life), so a hung task frees its
worker; the soft limit comes first. A trigger's hard limit is also what the
reaper waits before it gives up on a trigger (``settings.trigger_stall_after``).
"""

from __future__ import annotations

import logging

from celery import shared_task

from capomastro_changes.builds import dashboards, events, reaper
from capomastro_changes.builds.ephemera import housekeeping
from capomastro_changes.conf import DISPATCH_JENKINS_CALLS, settings
from capomastro_changes.detection import batch, check, jenkins_check, sweep
from capomastro_changes.rebuilds import dispatch, full, trigger

log = logging.getLogger(__name__)


def limits(hard: float) -> dict[str, float]:
    """Celery's time limits for a task that must end within ``hard`` seconds.

    The soft limit comes a little earlier, so the task can still say why it stopped.
    """
    return {"soft_time_limit": hard - min(15.0, hard / 10), "time_limit": hard}


def jenkins_calls(count: int) -> dict[str, float]:
    """Limits for a task that makes up to ``count`` Jenkins calls."""
    return limits(settings.jenkins_time_limit(count))


@shared_task(name="capomastro_changes.sweep", ignore_result=True, **limits(120))
def sweep_due_sources() -> int:
    """The periodic sweep: a check task for every due source."""
    return len(sweep.sweep())


# The check lock must outlive the check: it is released in the task.
@shared_task(
    name="capomastro_changes.check_source",
    ignore_result=True,
    **limits(settings.seconds("CHECK_LOCK_TTL")),
)
def check_source(source_id: int) -> str | None:
    if not is_source_id(source_id):
        log.error("check_source refused: %s is not a source id", type(source_id).__name__)
        return None
    record = check.check_source(source_id)
    return record.outcome if record else None


@shared_task(
    name="capomastro_changes.check_batch",
    ignore_result=True,
    **limits(settings.seconds("CHECK_LOCK_TTL")),
)
def check_batch(source_ids: list[int]) -> dict[str, int]:
    """Check a batch of sources together (the sweep sends these)."""
    if not isinstance(source_ids, list) or not all(map(is_source_id, source_ids)):
        log.error("check_batch refused: its argument is not a list of source ids")
        return {"refused": 1}
    return dict(batch.check_batch(source_ids))


def is_source_id(value) -> bool:
    """A task argument that names a source as the database and the locks both would:
    a plain positive int (``1.0`` and ``True`` equal 1 in a query but not in a lock key)."""
    return type(value) is int and value > 0


@shared_task(name="capomastro_changes.finish_jenkins_probe", ignore_result=True, **jenkins_calls(4))
def finish_jenkins_probe(
    source_id: int, server_id: int, job: str, queue_id: int, lock_token: str,
    deadline: float, started: str, number: int | None = None, attempt: int = 0,
) -> str | None:  # fmt: skip
    """One look at a probe run in Jenkins; re-schedules itself until it ends or times out."""
    pending = jenkins_check.PendingProbe(
        source_id, server_id, job, queue_id, lock_token, deadline, started, number, attempt
    )
    record = jenkins_check.finish(pending)
    return record.outcome if record else None


# A dispatch may supersede: cancel, read back, then trigger on another task.
@shared_task(
    name="capomastro_changes.dispatch_request",
    ignore_result=True,
    **jenkins_calls(DISPATCH_JENKINS_CALLS),
)
def dispatch_request(request_id: int) -> None:
    dispatch.dispatch(request_id)


@shared_task(
    name="capomastro_changes.trigger_request",
    ignore_result=True,
    **limits(settings.trigger_time_limit()),
)
def trigger_request(request_id: int) -> None:
    trigger.trigger(request_id)
    # Notifications that came before Jenkins' answer named the queue item are tied now.
    events.replay_held(request_id)


@shared_task(name="capomastro_changes.describe_build", ignore_result=True, **jenkins_calls(3))
def describe_build(request_id: int) -> None:
    trigger.describe_on_jenkins(request_id)


@shared_task(name="capomastro_changes.reap", ignore_result=True, **limits(900))
def reap() -> dict:
    return reaper.reap()


@shared_task(name="capomastro_changes.full_rebuild", ignore_result=True, **limits(600))
def full_rebuild() -> int:
    return full.rebuild_everything()


@shared_task(name="capomastro_changes.sync_project_views", ignore_result=True, **jenkins_calls(10))
def sync_project_views(
    project_id: int, old_name: str | None = None, server_ids: list[int] | None = None
) -> int:
    """Bring a project's Jenkins list views in line with its dependencies (best effort)."""
    synced = dashboards.sync_project(project_id, old_name=old_name, server_ids=server_ids or ())
    return len(synced)


@shared_task(name="capomastro_changes.ephemera_housekeeping", ignore_result=True, **limits(600))
def ephemera_housekeeping() -> dict[str, int]:
    """Discard orphaned uploads, end archives past their age, evict down to the total cap."""
    return housekeeping.expire()
