"""One check of one source, under its check lock: probe it, then conclude.

The check lock makes two ticks never probe one source at once. A source whose
probe runs in Jenkins is handed to :mod:`.jenkins_check`, which holds the lock
until a later task concludes the check; every other probe answers at once and
the check is concluded here (:mod:`.conclusion`).
"""

from __future__ import annotations

import logging

from django.utils import timezone

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.detection import jenkins_check
from capomastro_changes.detection.conclusion import conclude
from capomastro_changes.detection.probing import dependencies_of, probe_source, probing_job
from capomastro_changes.models import CheckRecord, JobType, SourceState

log = logging.getLogger(__name__)


def check_source(source_id: int) -> CheckRecord | None:
    """Check one source now.

    Returns:
        The check's record; None when another check of the source is already
        running, or when the probe runs in Jenkins (a later task concludes the
        check, and holds the check lock until then).
    """
    dependencies = dependencies_of(source_id)  # read once: the probe, the history, who is behind
    job = probing_job(dependencies)
    runner = job.jobtype.probe_runner if job else None
    jenkins_job = job if runner == JobType.PROBE_JENKINS else None
    check_locks = jenkins_check.check_locks() if jenkins_job else keyspaces().checks
    token = check_locks.acquire(source_id)
    if token is None:
        if jenkins_job is None:  # left due: the check that holds it keeps it due
            SourceState.objects.make_due([source_id])
        # (A probe through Jenkins holds it for minutes: due now, it would run again at once.)
        log.info("source %s is being checked already; skipped", source_id)
        return None
    handed_over = False
    try:
        state = SourceState.objects.select_related("source").filter(pk=source_id).first()
        if state is None:  # deleted since the check was asked for
            log.info("source %s no longer exists; nothing to check", source_id)
            return None
        started = timezone.now()
        if jenkins_job is not None:
            record = jenkins_check.start_check(state, jenkins_job, token, started)
            handed_over = record is None
            return record
        answer, probe_name = probe_source(state.source, job.jobtype if job else None, dependencies)
        return conclude(state, answer, probe_name, started, dependencies)
    finally:
        if not handed_over:
            check_locks.release(source_id, token)
