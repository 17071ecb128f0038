"""A check through Jenkins on a real Celery worker: the wait is countdowns, not a busy worker.

Real parts: a Celery worker process on a Redis broker runs the check task and
the finishing task it schedules; the Jenkins stand-in over HTTP runs the probe
job, which fetches a bzr bygmester branch and runs ``bygmester-probe`` through
the launcher (no LXC here); the source is a real git repository.
"""

import pytest

from capomastro_changes.models import CheckRecord, Dependency, Job, JobType, Source
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.bygmester import (
    BYGMESTER_PROBE,
    make_bygmester_branch,
    path_with_this_python,
)
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.repos import make_git
from capomastro_changes.testing.world import build_config_template, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_worker_checks_a_source_through_the_jenkins_probe_job(
    tmp_path, jenkins, engine_settings, celery_worker_process, monkeypatch
):
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")  # the stand-in's builds run here
    monkeypatch.setenv("PATH", path_with_this_python())
    bygmester = make_bygmester_branch(tmp_path / "bygmester", {"probe": BYGMESTER_PROBE})
    jobtype = JobType.objects.create(
        name="package", config_xml=build_config_template(), probe_runner=JobType.PROBE_JENKINS,
        bygmester_branch=str(bygmester),
    )  # fmt: skip
    repo = make_git(tmp_path, commits=2)
    source = Source.objects.for_location("git", repo.bare.as_uri(), "main")
    job = Job.objects.create(server=standin_server(jenkins), jobtype=jobtype, name="libfoo")
    Dependency.objects.create(name="libfoo", job=job, source=source)

    check_source.delay(source.pk)
    record = wait_until(lambda: CheckRecord.objects.filter(source=source).first(), timeout=60)

    assert (record.outcome, record.new_revision) == ("baseline", repo.rev_parse("main"))
    assert record.probe == f"Jenkins probe job {probe_job()} #1"
    assert [r.job for r in jenkins.build_log()] == [probe_job()]


def probe_job() -> str:
    """The probe job of the job type "package": its name ends with the job type's id."""
    from capomastro_changes.probes.jenkins import probe_job_name

    return probe_job_name(JobType.objects.get(name="package"))
