"""Each job type has a probe job of its own, and a probe job set up for another job type
fails the check instead of answering with another probe's revision.

"team libs" and "team-libs" used to share ``capomastro-probe-team-libs``: after both
configs were written, one's sources were probed with the other's branch and script.
"""

from __future__ import annotations

import time

import pytest

from capomastro_changes.jenkins.client import JenkinsClient
from capomastro_changes.jenkins.configs import render_probe_config
from capomastro_changes.models import JobType
from capomastro_changes.probes import jenkins as jenkins_probe
from capomastro_changes.revisions import SourceRef
from capomastro_changes.testing.jenkins import JenkinsStandIn

pytestmark = pytest.mark.django_db


def kind(name: str, script: str) -> JobType:
    return JobType.objects.create(
        name=name, config_xml="<project/>", bygmester_branch="", probe_script=script,
        probe_runner=JobType.PROBE_JENKINS,
    )  # fmt: skip


def test_job_types_whose_names_differ_only_in_punctuation_get_their_own_probe_jobs():
    spaced, dashed = kind("team libs", "probe-a"), kind("team-libs", "probe-b")
    names = {jenkins_probe.probe_job_name(spaced), jenkins_probe.probe_job_name(dashed)}
    assert len(names) == 2
    assert all(name.startswith("capomastro-probe-team-libs-") for name in names)


def test_a_probe_job_set_up_for_another_job_type_fails_the_check(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    ours, theirs = kind("ours", "probe-ours"), kind("theirs", "probe-theirs")
    source = SourceRef("git", "https://example.com/repo.git", "main")
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "jenkins") as standin:
        client = JenkinsClient(standin.url)
        name = jenkins_probe.probe_job_name(ours)
        client.upsert_job(name, render_probe_config(theirs))  # as a shared name left it
        queued = client.trigger(name, jenkins_probe.probe_parameters(source, None, "t1", ours))
        run = jenkins_probe.ProbeRun(source, client.server, name, queued.queue_id)
        deadline = time.monotonic() + 20
        answer = None
        while answer is None and time.monotonic() < deadline:
            answer = jenkins_probe.read(client, run)
            time.sleep(0.05)
    assert answer is not None and not answer.ok
    assert "set up for another bygmester branch or probe script than the check expects" in (
        answer.error
    )
