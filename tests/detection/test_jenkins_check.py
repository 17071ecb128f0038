"""Checks whose probe runs through Jenkins: the real check path, the wait in later tasks.

``check_source`` triggers the probe job on the stand-in and schedules the
finishing task; here the schedule is recorded and each scheduled look is run
in turn (sleeping at most a little of its countdown), which is what a worker
does with the countdowns, minus the broker.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from capomastro_changes.detection import check, jenkins_check
from capomastro_changes.models import (
    CheckRecord,
    Dependency,
    JenkinsServer,
    Job,
    JobType,
    RebuildRequest,
    Source,
    SourceState,
)
from capomastro_changes.testing import servers
from capomastro_changes.testing.bygmester import (
    BYGMESTER_PROBE,
    make_bygmester_branch,
    path_with_this_python,
)
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.repos import make_git
from capomastro_changes.testing.world import build_config_template, standin_server

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def scheduled(monkeypatch, settings, redis_client, key_prefix, tmp_path):
    """The app on a real Redis and the stand-in's builds able to run bygmester-probe;
    the finishing task's schedule is recorded instead of sent to a broker."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "https")
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 20.0
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    monkeypatch.setenv("PATH", path_with_this_python())
    calls: list[tuple[jenkins_check.PendingProbe, float]] = []
    monkeypatch.setattr(
        jenkins_check, "schedule", lambda p, countdown: calls.append((p, countdown))
    )
    return calls


@pytest.fixture
def standin(tmp_path):
    with JenkinsStandIn(quiet_period=0, executors=2, root=tmp_path / "jenkins") as jenkins:
        yield jenkins


SEEN_URL = "seen-url"
# Writes the URL it was given where the test can read it (not to the console), then probes.
PROBE_THAT_KEEPS_THE_URL = f"""#!/bin/sh
printf '%s' "$PROBE_URL" > "$PROBE_SEEN_DIR/{SEEN_URL}"
exec bygmester-probe "$@"
"""


# Probes whose one answer line is one the app must refuse (see tests/security).
BAD_ANSWERS = {
    "probe-nested": "#!/bin/sh\nprintf '{\"revision\": \"r\", \"x\": '\n"
                    "head -c 5000 /dev/zero | tr '\\0' '['\nhead -c 5000 /dev/zero | tr '\\0' ']'\n"
                    "printf '}\\n'\n",
    "probe-revno-2-64":
        "#!/bin/sh\necho '{\"revision\": \"r\", \"revno\": 18446744073709551616}'\n",
    "probe-dash": "#!/bin/sh\necho '{\"revision\": \"--upload-pack=touch /tmp/owned\"}'\n",
}  # fmt: skip


def make_source(tmp_path, server, script="probe", url_of=lambda repo: repo.bare.as_uri()):
    """A git source whose one dependency's job type probes through Jenkins with ``script``."""
    bygmester = make_bygmester_branch(
        tmp_path / "bygmester",
        {"probe": BYGMESTER_PROBE, "probe-hangs": "#!/bin/sh\nsleep 60\n",
         "probe-keeps-url": PROBE_THAT_KEEPS_THE_URL, **BAD_ANSWERS},
    )  # fmt: skip
    jobtype = JobType.objects.create(
        name="package", config_xml=build_config_template(), probe_runner=JobType.PROBE_JENKINS,
        bygmester_branch=str(bygmester), probe_script=script,
    )  # fmt: skip
    repo = make_git(tmp_path, commits=1)
    source = Source.objects.for_location("git", url_of(repo), "main")
    job = Job.objects.create(server=server, jobtype=jobtype, name="libfoo")
    Dependency.objects.create(name="libfoo", job=job, source=source)
    return source, repo


def run_scheduled(calls, timeout=30.0) -> CheckRecord:
    """Run each scheduled look in turn until one concludes the check."""
    deadline = time.monotonic() + timeout
    while calls and time.monotonic() < deadline:
        pending, countdown = calls.pop(0)
        assert 0 < countdown <= jenkins_check.MAX_COUNTDOWN
        time.sleep(min(countdown, 0.1))
        record = jenkins_check.finish(pending)
        if record is not None:
            return record
    pytest.fail(f"the check did not conclude (scheduled: {calls})")


def lock_is_free(source_id) -> bool:
    locks = jenkins_check.check_locks()
    token = locks.acquire(source_id)
    if token:
        locks.release(source_id, token)
    return token is not None


def test_a_check_through_jenkins_records_a_baseline_then_a_change(tmp_path, scheduled, standin):
    source, repo = make_source(tmp_path, standin_server(standin))

    assert check.check_source(source.pk) is None  # triggered; concluded later
    assert check.check_source(source.pk) is None  # a second tick meanwhile: skipped
    assert len(scheduled) == 1 and not lock_is_free(source.pk)
    pending = scheduled[0][0]
    baseline = run_scheduled(scheduled)

    assert (baseline.outcome, baseline.new_revision) == ("baseline", repo.rev_parse("main"))
    assert baseline.probe == f"Jenkins probe job {probe_job()} #1"
    assert lock_is_free(source.pk)
    assert jenkins_check.finish(pending) is None  # a redelivered look changes nothing
    assert CheckRecord.objects.filter(source=source).count() == 1

    new = repo.commit(message="second")
    assert check.check_source(source.pk) is None
    changed = run_scheduled(scheduled)

    assert (changed.outcome, changed.old_revision, changed.new_revision) == (
        "changed", baseline.new_revision, new)  # fmt: skip
    assert RebuildRequest.objects.get(dependency__name="libfoo").revision == new
    assert [r.parameters["LAST_REVISION"] for r in standin.build_log()] == [
        "", baseline.new_revision]  # fmt: skip


def test_a_probe_build_past_the_deadline_is_an_error_and_is_stopped(
    tmp_path, scheduled, standin, settings
):
    settings.CAPOMASTRO_CHANGES_JENKINS_PROBE_DEADLINE = 1
    source, _ = make_source(tmp_path, standin_server(standin), script="probe-hangs")

    check.check_source(source.pk)
    record = run_scheduled(scheduled)

    assert record.outcome == "error"
    assert record.error.endswith(f"no answer from Jenkins probe job {probe_job()} #1 within 1 s")
    assert standin.wait_for_build(probe_job(), 1).result == "ABORTED"
    state = SourceState.objects.get(pk=source.pk)
    assert (state.last_revision, state.consecutive_failures) == ("", 1)
    assert lock_is_free(source.pk)


def test_an_unreachable_jenkins_is_an_error_at_once(tmp_path, scheduled):
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "gone") as gone:
        url = gone.url
    server = JenkinsServer.objects.create(name="gone", url=url)
    source, _ = make_source(tmp_path, server)

    record = check.check_source(source.pk)

    assert record.outcome == "error" and "unreachable" in record.error
    assert record.probe == f"Jenkins probe job {probe_job()}"
    assert scheduled == [] and lock_is_free(source.pk)


def test_with_eager_celery_a_check_through_jenkins_waits_its_countdowns_and_concludes(
    tmp_path, settings, redis_client, key_prefix, monkeypatch, standin, eager_celery
):
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "https")
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    monkeypatch.setenv("PATH", path_with_this_python())
    looks = []
    look = jenkins_check.finish
    monkeypatch.setattr(jenkins_check, "finish", lambda p: looks.append(p) or look(p))
    source, repo = make_source(tmp_path, standin_server(standin))

    started = time.monotonic()
    assert check.check_source(source.pk) is None  # concluded by the eager looks
    waited = time.monotonic() - started

    record = CheckRecord.objects.get(source=source)
    assert (record.outcome, record.new_revision) == ("baseline", repo.rev_parse("main"))
    assert lock_is_free(source.pk)
    # Each look came after its countdown (1 s, then 2 s...), not in a tight loop.
    assert 1 <= len(looks) <= 4 and waited >= jenkins_check.FIRST_COUNTDOWN


def test_credentials_in_a_source_url_reach_the_probe_but_no_jenkins_page(
    tmp_path, scheduled, standin, settings, monkeypatch
):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("http", "https")
    monkeypatch.setenv("PROBE_SEEN_DIR", str(tmp_path))
    secret = "s3cret-T0ken"
    with servers.git_http(tmp_path) as root:
        credentialed = root.replace("http://", f"http://probe-user:{secret}@")
        source, repo = make_source(
            tmp_path, standin_server(standin), script="probe-keeps-url",
            url_of=lambda repo: f"{credentialed}/{repo.bare.name}",
        )  # fmt: skip
        check.check_source(source.pk)
        record = run_scheduled(scheduled)

    assert (record.outcome, record.new_revision) == ("baseline", repo.rev_parse("main"))
    assert (tmp_path / SEEN_URL).read_text() == source.url  # the probe had them
    job, build = probe_job(), standin.wait_for_build(probe_job(), 1)
    pages = [
        requests.get(f"{standin.url}{path}", timeout=10).text
        for path in (f"job/{job}/1/api/json", f"job/{job}/1/consoleText",
                     f"queue/item/{build.queue_id}/api/json")
    ]  # fmt: skip
    for page in pages:
        assert secret not in page
    parameters = {p["name"]: p for p in json.loads(pages[0])["actions"][0]["parameters"]}
    assert parameters["SOURCE_URL"]["value"] == f"{root}/{repo.bare.name}"
    assert parameters["SOURCE_CREDENTIALS"] == {
        "_class": "hudson.model.PasswordParameterValue", "name": "SOURCE_CREDENTIALS"}  # fmt: skip


def probe_job() -> str:
    """The probe job of the job type "package": its name ends with the job type's id."""
    from capomastro_changes.probes.jenkins import probe_job_name

    return probe_job_name(JobType.objects.get(name="package"))
