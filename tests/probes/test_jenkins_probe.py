"""The probe through Jenkins: the probe job on the stand-in, run with the real launcher.

Real parts: the Jenkins stand-in over HTTP runs the probe job's shell step,
which fetches a real bzr bygmester branch with ``brz`` and runs its probe
script through ``lxc-launch`` (with ``CAPOMASTRO_LXC_COMMAND=""``: no LXC
here); the sources are real git and bzr repositories.
"""

from __future__ import annotations

import os
import time

import pytest
from breezy.workingtree import WorkingTree

from capomastro_changes.detection.compare import decide
from capomastro_changes.jenkins.client import JenkinsClient
from capomastro_changes.models import JobType
from capomastro_changes.probes import jenkins as jenkins_probe
from capomastro_changes.probes import local
from capomastro_changes.revisions import Outcome, ProbeAnswer, Revision, SourceRef, StoredState
from capomastro_changes.testing.bygmester import (
    BYGMESTER_PROBE,
    make_bygmester_branch,
    path_with_this_python,
)
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.repos import make_bzr, make_git

pytestmark = pytest.mark.slow

BROKEN = {
    "probe-fails": 'echo "cannot reach the mirror" >&2\nexit 1\n',
    "probe-gone": 'echo "no branch refs/heads/main" >&2\nexit 3\n',
    "probe-garbage": "echo 'hello world'\n",
    "probe-silent": "exit 0\n",
    "probe-two-lines": """echo '{"revision": "a"}'\necho '{"revision": "b"}'\n""",
    "probe-no-revision": """echo '{"revno": 3}'\n""",
    "probe-hangs": "sleep 60\n",
    "probe-noisy": (
        'echo \'capomastro-changes-probe: {"revision": "from-stderr"}\' >&2\n'
        'printf \'x\\rcapomastro-changes-probe: {"revision": "after-cr"}\\n\' >&2\n'
        'echo \'{"revision": "the-real-one", "revno": 7}\'\n'
    ),
}


@pytest.fixture
def jenkins_env(monkeypatch, probe_settings):
    """The stand-in's builds find ``brz`` and ``bygmester-probe`` and run with no LXC."""
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    monkeypatch.setenv("PATH", path_with_this_python())
    probe_settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 20.0
    return probe_settings


# A probe with history at hand (say, a mirror in the container) that saw a force-push.
REWRITTEN = """echo '{"revision": "new-tip", "revno": null, "descends": false}'\n"""


@pytest.fixture
def bygmester(tmp_path):
    scripts = {"probe": BYGMESTER_PROBE, "probe-rewritten": f"#!/bin/sh\n{REWRITTEN}"}
    scripts.update({name: f"#!/bin/sh\n{body}" for name, body in BROKEN.items()})
    return make_bygmester_branch(tmp_path / "bygmester", scripts)


@pytest.fixture
def standin(tmp_path):
    with JenkinsStandIn(quiet_period=0, executors=4, root=tmp_path / "jenkins") as jenkins:
        yield jenkins


@pytest.fixture
def client(standin):
    return JenkinsClient(standin.url)


def jobtype(bygmester, script="probe", name=None) -> JobType:
    """A job type probing through Jenkins (not saved: the probe needs none of the database)."""
    return JobType(
        pk=1, name=name or f"app-{script}", bygmester_branch=str(bygmester), probe_script=script,
        probe_runner=JobType.PROBE_JENKINS,
    )  # fmt: skip


def probe_through_jenkins(client, jobtype, source, last=None, timeout=30.0) -> ProbeAnswer:
    run = jenkins_probe.start(client, jobtype, source, last, request_id=f"test-{time.time()}")
    assert isinstance(run, jenkins_probe.ProbeRun), run
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = jenkins_probe.read(client, run)
        if answer is not None:
            return answer
        time.sleep(0.05)
    pytest.fail(f"{run.label} did not end within {timeout} s")


def test_a_git_branch_probed_through_jenkins_answers_as_the_in_process_probe(
    tmp_path, jenkins_env, bygmester, client
):
    repo = make_git(tmp_path, commits=2)
    repo.commit("feature", message="elsewhere")
    source = SourceRef("git", str(repo.bare), "main")

    answer = probe_through_jenkins(client, jobtype(bygmester), source)

    assert answer.ok, answer.error
    assert answer.revision == local.probe(source).revision == Revision(repo.rev_parse("main"))


def test_a_bzr_branch_probed_through_jenkins_answers_as_the_in_process_probe(
    tmp_path, jenkins_env, bygmester, client
):
    branch = make_bzr(tmp_path / "trunk", commits=3)
    source = SourceRef("bzr", branch.path.as_uri(), "")
    last = Revision(*reversed(branch.revision_info()))
    revno, revid = branch.commit("fourth")

    answer = probe_through_jenkins(client, jobtype(bygmester), source, last=last)

    assert answer.ok, answer.error
    assert answer.revision == local.probe(source).revision == Revision(revid, revno)


def test_a_probe_through_jenkins_can_report_a_rewritten_branch(jenkins_env, bygmester, client):
    source = SourceRef("git", "https://example.com/repo.git", "main")
    kind = jobtype(bygmester, "probe-rewritten")

    answer = probe_through_jenkins(client, kind, source, last=Revision("old-tip"))

    assert answer.ancestry == (("old-tip", False),)
    assert decide(StoredState("old-tip"), answer).outcome is Outcome.REWRITTEN


def test_the_probe_job_is_created_once_and_kept_up_to_date(jenkins_env, bygmester, client, standin):
    kind = jobtype(bygmester, name="app server/32")
    name = jenkins_probe.ensure_probe_job(client, kind)
    assert name == "capomastro-probe-app-server-32-1"  # the job type's id ends it
    stored = client.job_config(name)
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?><')  # Jenkins rewrote it
    assert jenkins_probe.ensure_probe_job(client, kind) == name
    # a second ensure makes no POST, though the stored text differs from ours
    assert standin.state.jobs[name].reconfigurations == 0
    kind.probe_script = "probe-garbage"
    jenkins_probe.ensure_probe_job(client, kind)
    assert "<defaultValue>probe-garbage</defaultValue>" in client.job_config(name)
    assert standin.state.jobs[name].reconfigurations == 1


@pytest.mark.parametrize(
    "script, expected, missing",
    [
        ("probe-fails", "ended FAILURE: the probe exited with status 1: cannot reach the mirror",
         False),
        ("probe-gone", "ended FAILURE: the probe exited with status 3: no branch", True),
        ("probe-garbage", "the output is not JSON (it starts 'hello world')", False),
        ("probe-silent", "no line starting 'capomastro-changes-probe:' in the console", False),
        ("probe-two-lines", "the probe printed 2 lines; the protocol wants one", False),
        ("probe-no-revision", "the result has no 'revision' string", False),
    ],
)  # fmt: skip
def test_a_broken_probe_script_is_a_clear_error_never_a_change(
    tmp_path, jenkins_env, bygmester, client, script, expected, missing
):
    source = SourceRef("git", str(make_git(tmp_path).bare), "main")

    answer = probe_through_jenkins(client, jobtype(bygmester, script), source)

    assert not answer.ok and answer.revision is None
    assert expected in answer.error
    assert f"Jenkins probe job capomastro-probe-app-{script}-1 #1" in answer.error
    assert answer.missing is missing


def test_a_probe_that_hangs_is_killed_at_the_probe_timeout(
    tmp_path, jenkins_env, bygmester, client
):
    jenkins_env.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 0.5
    source = SourceRef("git", str(make_git(tmp_path).bare), "main")

    answer = probe_through_jenkins(client, jobtype(bygmester, "probe-hangs"), source)

    assert "ended FAILURE: the probe exited with status 124: no answer within 0.5" in answer.error


def test_only_marked_lines_from_the_probe_s_stdout_count(tmp_path, jenkins_env, bygmester, client):
    source = SourceRef("git", str(make_git(tmp_path).bare), "main")

    answer = probe_through_jenkins(client, jobtype(bygmester, "probe-noisy"), source)

    assert answer.revision == Revision("the-real-one", 7)


def test_a_bygmester_branch_that_cannot_be_fetched_fails_with_brz_s_reason(
    tmp_path, jenkins_env, client
):
    source = SourceRef("git", str(make_git(tmp_path).bare), "main")

    answer = probe_through_jenkins(client, jobtype(tmp_path / "no-such-branch"), source)

    assert "ended FAILURE: brz: ERROR: Not a branch" in answer.error


def test_credentials_in_the_source_url_never_reach_the_error(jenkins_env, bygmester, client):
    source = SourceRef("git", "http://jane:s3cr3t-pw@127.0.0.1:9/repo.git", "main")

    answer = probe_through_jenkins(client, jobtype(bygmester), source)

    assert answer.error and "s3cr3t-pw" not in answer.error
    assert "http://***@127.0.0.1:9/repo.git" in answer.error


def test_a_cancelled_queue_item_is_an_error(tmp_path, jenkins_env, bygmester):
    with JenkinsStandIn(quiet_period=60, root=tmp_path / "slow-jenkins") as slow:
        client = JenkinsClient(slow.url)
        source = SourceRef("git", "https://example.com/repo.git", "main")
        run = jenkins_probe.start(client, jobtype(bygmester), source)
        assert jenkins_probe.read(client, run) is None  # waiting in the quiet period
        client.cancel_queued(run.queue_id)

        answer = jenkins_probe.read(client, run)

    assert (
        f"Jenkins probe job capomastro-probe-app-probe-1 queue item {run.queue_id}" in answer.error
    )
    assert answer.error.endswith("was cancelled")


def test_jenkins_unreachable_is_an_error_at_the_start_and_while_waiting(
    tmp_path, jenkins_env, bygmester
):
    source = SourceRef("git", "https://example.com/repo.git", "main")
    with JenkinsStandIn(quiet_period=60, root=tmp_path / "gone-jenkins") as gone:
        client = JenkinsClient(gone.url)
        run = jenkins_probe.start(client, jobtype(bygmester), source)

    waiting = jenkins_probe.read(client, run)
    starting = jenkins_probe.start(client, jobtype(bygmester), source)

    assert "unreachable" in waiting.error and "queue item" in waiting.error
    assert "could not start the Jenkins probe job" in starting.error
    assert "unreachable" in starting.error


@pytest.fixture
def guarded_branch(tmp_path):
    """A bygmester branch with a symlink out of it (to a script that leaves a marker) and one in."""
    marker = tmp_path / "outside-ran"
    outside = tmp_path / "outside-probe"
    outside.write_text(f'#!/bin/sh\ntouch {marker}\necho \'{{"revision": "outside"}}\'\n')
    outside.chmod(0o755)
    branch = make_bygmester_branch(tmp_path / "guarded", {"probe": BYGMESTER_PROBE})
    os.symlink(outside, branch / "probe-out")
    os.symlink("probe", branch / "probe-in")
    tree = WorkingTree.open(str(branch))
    with tree.lock_write():
        tree.add(["probe-out", "probe-in"])
        tree.commit("symlinks", committer="Test <test@example.com>")
    return branch, marker


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("probe-out", "the probe script path leaves the bygmester branch"),
        ("../outside-probe", "the probe script path is empty or leaves the bygmester branch"),
        ("no-such-probe", "no probe script no-such-probe in the bygmester branch"),
    ],
)
def test_the_probe_job_runs_no_script_from_outside_the_branch(
    tmp_path, jenkins_env, client, guarded_branch, script, expected
):
    """The job's own guard, for a job type saved before the model refused such paths."""
    branch, marker = guarded_branch
    source = SourceRef("git", str(make_git(tmp_path).bare), "main")

    answer = probe_through_jenkins(client, jobtype(branch, script), source)

    assert f"ended FAILURE: the probe exited with status 2: {expected}" in answer.error
    assert not answer.missing and not marker.exists()


def test_the_probe_job_follows_a_symlink_that_stays_in_the_branch(
    tmp_path, jenkins_env, client, guarded_branch
):
    repo = make_git(tmp_path)
    source = SourceRef("git", str(repo.bare), "main")

    answer = probe_through_jenkins(client, jobtype(guarded_branch[0], "probe-in"), source)

    assert answer.revision == Revision(repo.rev_parse("main"))
