"""Which probe answers for a source, and with what it already knows.

A source is shared by every dependency on its repository and branch; one probe
run serves them all. The probe is the one the source's job types ask for:
in-process (dulwich / breezy) unless a job type ships a bygmester probe script,
run here, or through Jenkins (a check hands such a source to
:mod:`capomastro_changes.detection.jenkins_check`, since it cannot answer at once).
"""

from __future__ import annotations

from capomastro_changes.models import Dependency, Job, JobType, Source
from capomastro_changes.probes import local
from capomastro_changes.probes.base import run_guarded
from capomastro_changes.probes.script import ScriptProbe
from capomastro_changes.revisions import ProbeAnswer, Revision, SourceRef


def source_ref(source: Source) -> SourceRef:
    return SourceRef(source.vcs, source.url, source.branch)


def dependencies_of(source: Source | int) -> list[Dependency]:
    """Every dependency on the source, highest priority first, with its job: one query.

    A check reads them once and answers from them which probe speaks for the
    source, what has been built, and whether any dependency is behind.
    """
    return list(
        Dependency.objects.filter(source=source)
        .select_related("job__jobtype", "job__server")
        .order_by("-priority", "pk")
    )


def known_revisions(
    source: Source, dependencies: list[Dependency] | None = None
) -> tuple[Revision, ...]:
    """The stored revision and what its dependencies last built: the history to judge."""
    state = source.state
    revisions = [Revision(state.last_revision, state.last_revno)] if state.last_revision else []
    if dependencies is None:
        dependencies = list(Dependency.objects.filter(source=source))
    for dep in dependencies:
        if dep.last_built_revision:
            revisions.append(Revision(dep.last_built_revision, dep.last_built_revno))
    return tuple(dict.fromkeys(revisions))


def probing_job(dependencies: list[Dependency]) -> Job | None:
    """The job whose job type's probe speaks for the source: its first enabled dependency's.

    Its server is where a probe through Jenkins runs.
    """
    return next((dep.job for dep in dependencies if dep.changes_enabled), None)


def job_for(source: Source | int) -> Job | None:
    """:func:`probing_job` of the source, read from the database."""
    return probing_job(dependencies_of(source))


def jobtype_for(source: Source) -> JobType | None:
    """The job type whose probe speaks for the source: that of its first enabled dependency."""
    job = job_for(source)
    return job.jobtype if job else None


def jenkins_job_for(source: Source | int) -> Job | None:
    """The job to probe through, when the source's job type probes through Jenkins; else None."""
    job = job_for(source)
    if job is not None and job.jobtype.probe_runner == JobType.PROBE_JENKINS:
        return job
    return None


_LOOK_UP = object()


def probe_source(
    source: Source, jobtype=_LOOK_UP, dependencies: list[Dependency] | None = None
) -> tuple[ProbeAnswer, str]:
    """Run the source's probe once; the answer and a name for the check history.

    ``jobtype`` is the one whose probe speaks for the source, and
    ``dependencies`` the source's, when the caller has already read them
    (jobtype None: in-process).
    """
    if jobtype is _LOOK_UP:
        jobtype = jobtype_for(source)
    run = prepared_probe(source, jobtype, dependencies)
    return run(), run.name


class PreparedProbe:
    """One probe of one source with everything it needs read beforehand.

    Calling it touches no database, so a batch can run many at once in threads.
    """

    def __init__(self, probe, ref: SourceRef, last: tuple[Revision, ...], name: str) -> None:
        self.probe, self.ref, self.last, self.name = probe, ref, last, name

    def __call__(self, timeout: float | None = None) -> ProbeAnswer:
        return run_guarded(self.probe, self.ref, self.last, timeout)


def prepared_probe(
    source: Source, jobtype: JobType | None, dependencies: list[Dependency] | None
) -> PreparedProbe:
    """The probe that speaks for ``source`` (``jobtype`` None: in-process), ready to run."""
    ref, last = source_ref(source), known_revisions(source, dependencies)
    if jobtype and jobtype.probe_runner == JobType.PROBE_SCRIPT:
        probe = ScriptProbe(jobtype.bygmester_branch, jobtype.probe_script)
        return PreparedProbe(probe, ref, last, f"script {jobtype.probe_script} of {jobtype.name}")
    return PreparedProbe(local.probe, ref, last, f"in-process {source.vcs}")
