"""The Jenkins probe: a probe job runs the job type's bygmester probe script in LXC.

Unlike the other probes it is not one call, because a Jenkins build can wait
in the queue for minutes and a worker must not wait with it: :func:`start`
makes sure the job type's probe job exists, triggers it and returns at once;
:func:`poll` is asked later (by a task with a countdown) until the build has
ended, then reads the marked result line from the console with the protocol
the in-process script probe uses. Like every probe, neither raises for a
source it could not read: a cancelled queue item, a failed build, a console
without a result line, garbage, Jenkins unreachable, each is an answer with
``error`` set, so the check records it and never takes it for a change.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from bygmester_hooks.console import parse_results, read_console
from bygmester_hooks.protocol import EXIT_MISSING, ProtocolError
from capomastro_changes.conf import settings
from capomastro_changes.jenkins.client import JenkinsClient
from capomastro_changes.jenkins.configs import render_probe_config, same_config
from capomastro_changes.jenkins.errors import JenkinsError, JenkinsNotFound
from capomastro_changes.redaction import redact_text, redact_url
from capomastro_changes.revisions import ProbeAnswer, Revision, SourceRef
from capomastro_changes.vcs.urls import userinfo, without_userinfo

log = logging.getLogger(__name__)

PROBE_JOB_PREFIX = "capomastro-probe-"
_NOT_IN_A_JOB_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ProbeRun:
    """A probe job triggered for one source: where to look for its answer.

    Attributes:
        source: The source the probe was asked about.
        server: The Jenkins server's URL (credentials stripped), for messages.
        job: The probe job's name.
        queue_id: The queue item the trigger created.
        number: The build number, once the item has left the queue.
    """

    source: SourceRef
    server: str
    job: str
    queue_id: int
    number: int | None = None

    @property
    def label(self) -> str:
        """``probe job NAME #N`` (or ``queue item Q`` before it has a build), for messages."""
        where = f"#{self.number}" if self.number is not None else f"queue item {self.queue_id}"
        return f"Jenkins probe job {self.job} {where}"


@dataclass(frozen=True)
class Progress:
    """Where a probe run stands: the run as now known, and its answer once it has ended."""

    run: ProbeRun
    answer: ProbeAnswer | None = None


def probe_job_name(jobtype) -> str:
    """The probe job of a job type: one per job type and server, shared by its sources.

    Its name ends with the job type's id: names that differ only in what a job
    name cannot hold ("team libs", "team-libs") would otherwise share one job,
    and probe each other's sources with each other's script.
    """
    slug = _NOT_IN_A_JOB_NAME.sub("-", jobtype.name).strip("-.") or "jobtype"
    return f"{PROBE_JOB_PREFIX}{slug}-{jobtype.pk}"


def ensure_probe_job(client: JenkinsClient, jobtype) -> str:
    """Create the job type's probe job, or bring its config up to date; its name.

    The stored config is read first, so the usual check costs one GET and no
    rewrite of a job Jenkins may be building.

    Raises:
        JenkinsError: Jenkins could not be read or refused the job.
    """
    name = probe_job_name(jobtype)
    config = render_probe_config(jobtype)
    try:
        current = client.job_config(name)
    except JenkinsNotFound:
        current = None
    if not same_config(current, config):  # by meaning: Jenkins rewrites what it stores
        client.upsert_job(name, config)
    return name


def probe_parameters(
    source: SourceRef, last: Revision | None, request_id: str, jobtype=None
) -> dict[str, str]:
    """The build parameters of the probe job (see the template) for ``source``.

    The bygmester branch and script this check expects go along: a job whose
    config says otherwise (another job type's, edited by hand) fails the
    check instead of answering with another probe's revision.
    """
    expected = {}
    if jobtype is not None:
        expected = {
            "EXPECTED_BYGMESTER_BRANCH": jobtype.bygmester_branch,
            "EXPECTED_PROBE_SCRIPT": jobtype.probe_script,
        }
    return {
        "VCS": source.vcs,
        # Build parameters are shown on Jenkins' pages: the URL goes without its
        # userinfo, which travels in a password parameter Jenkins never shows.
        "SOURCE_URL": without_userinfo(source.url),
        "SOURCE_CREDENTIALS": userinfo(source.url),
        "BRANCH": source.branch,
        "LAST_REVISION": last.id if last else "",
        "LAST_REVNO": str(last.revno) if last and last.revno is not None else "",
        "PROBE_TIMEOUT": f"{float(settings.PROBE_TIMEOUT):g}",
        "ALLOWED_SCHEMES": ",".join(settings.ALLOWED_SCHEMES),
        "REQUEST_ID": request_id,
        **expected,
    }


def start(
    client: JenkinsClient,
    jobtype,
    source: SourceRef,
    last: Revision | None = None,
    request_id: str = "",
) -> ProbeRun | ProbeAnswer:
    """Trigger the job type's probe job for ``source``, without waiting for it.

    Args:
        client: The Jenkins server to probe on.
        jobtype: The job type whose bygmester branch holds the probe script.
        source: The source to ask about.
        last: The last known revision, for probes that answer yes/no.
        request_id: Unique per check, so Jenkins never folds two checks into one build.

    Returns:
        The run to :func:`poll`, or an error answer when it could not be started.
    """
    try:
        name = ensure_probe_job(client, jobtype)
        queued = client.trigger(name, probe_parameters(source, last, request_id, jobtype))
    except JenkinsError as exc:
        return failed(source, f"could not start the Jenkins probe job: {exc}")
    if queued.queue_id is None:
        return failed(source, f"Jenkins did not say which queue item probe job {name} is")
    return ProbeRun(source, client.server, name, queued.queue_id)


def poll(client: JenkinsClient, run: ProbeRun) -> Progress:
    """Look at a probe run once: still queued or running (no answer yet), or its answer."""
    try:
        if run.number is None:
            item = client.queue_item(run.queue_id)
            if item.cancelled:
                return Progress(run, failed(run.source, f"{run.label} was cancelled"))
            if item.build_number is None:
                return Progress(run)
            run = replace(run, number=item.build_number)
        build = client.build(run.job, run.number)
        if build.building or build.result is None:
            return Progress(run)
        console = client.console(run.job, run.number)
    except JenkinsError as exc:
        return Progress(run, failed(run.source, f"{run.label}: {exc}"))
    last = build.parameters.get("LAST_REVISION", "")  # what a probe's "descends" is about
    return Progress(run, answer_from_console(run, build.result, console, last))


def read(client: JenkinsClient, run: ProbeRun) -> ProbeAnswer | None:
    """The run's answer, or None while it is still queued or running."""
    return poll(client, run).answer


def answer_from_console(run: ProbeRun, result: str, console: str, last: str = "") -> ProbeAnswer:
    """The answer a finished probe build gave: its marked result line, or why there is none.

    ``last`` is the build's ``LAST_REVISION``: a probe that had history at
    hand said whether the new revision descends from it.
    """
    output = read_console(console)
    if result != "SUCCESS":
        reason = redact_text(output.reason) or "nothing in the console says why"
        if output.exit_status is not None:
            reason = f"the probe exited with status {output.exit_status}: {reason}"
        missing = output.exit_status == EXIT_MISSING
        return failed(run.source, f"{run.label} ended {result}: {reason}", missing=missing)
    try:
        parsed = parse_results(output)
    except ProtocolError as exc:
        return failed(run.source, f"{run.label}: {redact_text(str(exc))}")
    revision = Revision(parsed.revision, parsed.revno)
    return ProbeAnswer(run.source, revision, parsed.ancestry(last), changed=parsed.changed)


def timed_out(run: ProbeRun, seconds: float) -> ProbeAnswer:
    """The answer of a run that did not end before its deadline."""
    return failed(run.source, f"no answer from {run.label} within {seconds:g} s")


def abandon(client: JenkinsClient, run: ProbeRun) -> None:
    """Stop a run nobody waits for any more (best effort: it is already an error)."""
    try:
        if run.number is None:
            client.cancel_queued(run.queue_id)
        else:
            client.stop_build(run.job, run.number)
    except JenkinsError as exc:
        log.warning("could not stop %s: %s", run.label, exc)


def failed(source: SourceRef, message: str, missing: bool = False) -> ProbeAnswer:
    """An error answer naming the source (without credentials)."""
    return ProbeAnswer(source, error=f"{redact_url(source.url)}: {message}", missing=missing)
