"""A check whose probe runs in Jenkins: started by the check task, finished by later tasks.

A probe build can wait in Jenkins' queue for minutes, and a worker must not
wait with it. So the check triggers the probe job and schedules
``finish_jenkins_probe`` with a countdown (1 s, growing to 10 s); each run of
it looks once and either concludes the check or schedules itself again, until
the build has ended or the deadline (``JENKINS_PROBE_DEADLINE``) has passed.

The check lock is held across the whole wait, so no other tick probes the
source meanwhile: it is taken with a TTL of the deadline plus
``CHECK_LOCK_TTL`` and released once the check is concluded. If the
finishing tasks are lost, the TTL frees the source for a later tick.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from capomastro_changes import enqueue
from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import get_redis
from capomastro_changes.coordination.errors import LockError
from capomastro_changes.coordination.leases import CheckLocks
from capomastro_changes.detection.conclusion import conclude
from capomastro_changes.detection.probing import known_revisions, source_ref
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.models import CheckRecord, JenkinsServer, SourceState
from capomastro_changes.probes import jenkins as jenkins_probe
from capomastro_changes.revisions import ProbeAnswer

log = logging.getLogger(__name__)

FIRST_COUNTDOWN = 1.0
MAX_COUNTDOWN = 10.0


@dataclass(frozen=True)
class PendingProbe:
    """What the finishing task needs to find a probe run again: its keyword arguments.

    Plain values only (they travel through the broker as JSON).
    """

    source_id: int
    server_id: int
    job: str
    queue_id: int
    lock_token: str
    deadline: float  # epoch seconds
    started: str  # ISO 8601: when the check started
    number: int | None = None
    attempt: int = 0


def check_locks() -> CheckLocks:
    """Check locks whose TTL covers a whole probe through Jenkins."""
    ttl = float(settings.JENKINS_PROBE_DEADLINE) + float(settings.CHECK_LOCK_TTL)
    return CheckLocks(get_redis(), prefix=settings.REDIS_PREFIX, ttl=ttl)


def probe_name(job: str, number: int | None = None) -> str:
    """The probe's name in the check history."""
    return f"Jenkins probe job {job}" + (f" #{number}" if number is not None else "")


def start_check(state: SourceState, job, lock_token: str, started: datetime):
    """Trigger the probe job for ``state``'s source on ``job``'s server.

    Returns:
        None once the finishing task is scheduled (it now owns the check lock),
        or the concluded check when the probe job could not even be started.
    """
    last = known_revisions(state.source)
    request_id = f"check-{state.pk}-{uuid.uuid4().hex[:12]}"
    client = client_for(job.server)
    run = jenkins_probe.start(
        client, job.jobtype, source_ref(state.source), last[0] if last else None, request_id
    )
    if isinstance(run, ProbeAnswer):
        name = probe_name(jenkins_probe.probe_job_name(job.jobtype))
        return conclude(state, run, name, started)
    pending = PendingProbe(
        source_id=state.pk, server_id=job.server_id, job=run.job, queue_id=run.queue_id,
        lock_token=lock_token, deadline=time.time() + float(settings.JENKINS_PROBE_DEADLINE),
        started=started.isoformat(),
    )  # fmt: skip
    schedule(pending, FIRST_COUNTDOWN)
    log.info("check of source %s: %s triggered", state.pk, run.label)
    return None


def schedule(pending: PendingProbe, countdown: float) -> None:
    """Run the finishing task for ``pending`` in ``countdown`` seconds.

    Celery in eager mode (a development site without a worker) runs a task at
    once and ignores its countdown: the wait happens here instead, so the look
    is not repeated in a tight loop until the deadline.
    """
    if enqueue.runs_eagerly():
        time.sleep(countdown)
    enqueue.send(
        "capomastro_changes.finish_jenkins_probe", kwargs=asdict(pending), countdown=countdown
    )


def next_countdown(pending: PendingProbe, now: float) -> float:
    """1 s, 2 s, 4 s... up to 10 s, but never far past the deadline."""
    wanted = min(MAX_COUNTDOWN, FIRST_COUNTDOWN * 2 ** (pending.attempt + 1))
    return max(0.1, min(wanted, pending.deadline - now + 0.1))


def finish(pending: PendingProbe) -> CheckRecord | None:
    """Look at the probe run once: conclude the check, or schedule another look.

    Returns:
        The check record once concluded; None while the probe runs (or when
        this check was concluded already, by an earlier delivery of the task).
    """
    started = datetime.fromisoformat(pending.started)
    if CheckRecord.objects.filter(source_id=pending.source_id, started_at=started).exists():
        return None
    handed_on = False
    try:  # whatever fails below, the check lock is not left to its TTL (minutes)
        state = SourceState.objects.select_related("source").filter(pk=pending.source_id).first()
        if state is None:
            return None
        answer, run = _look(state, pending)
        if answer is None:
            schedule(replace(pending, number=run.number, attempt=pending.attempt + 1),
                     next_countdown(pending, time.time()))  # fmt: skip
            handed_on = True  # the next look holds the lock now
            return None
        seconds = round(time.time() - started.timestamp(), 6)
        return conclude(state, replace(answer, seconds=seconds), probe_name(run.job, run.number),
                        started)  # fmt: skip
    finally:
        if not handed_on:
            release(pending)


def _look(state: SourceState, pending: PendingProbe):
    """The answer (None: not yet) and the run as now known; a timed-out run is stopped."""
    run = jenkins_probe.ProbeRun(
        source_ref(state.source), "", pending.job, pending.queue_id, pending.number
    )
    server = JenkinsServer.objects.filter(pk=pending.server_id).first()
    if server is None:
        return jenkins_probe.failed(run.source, f"{run.label}: its Jenkins server is gone"), run
    client = client_for(server)
    progress = jenkins_probe.poll(client, replace(run, server=client.server))
    if progress.answer is not None or time.time() < pending.deadline:
        return progress.answer, progress.run
    jenkins_probe.abandon(client, progress.run)
    deadline = float(settings.JENKINS_PROBE_DEADLINE)
    return jenkins_probe.timed_out(progress.run, deadline), progress.run


def release(pending: PendingProbe) -> None:
    """Free the check lock this probe held (if it outlived its TTL, say so and go on)."""
    try:
        check_locks().release(pending.source_id, pending.lock_token)
    except LockError as exc:
        log.warning("check lock of source %s: %s", pending.source_id, exc)
