"""The Notification-plugin endpoint: real posts from the stand-in record builds and
artifacts; bad or unauthenticated posts change nothing."""

import json
import time

import pytest
import requests

from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.configs import render_config
from capomastro_changes.models import Artifact, Build, Job
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.world import build_jobtype, standin_server

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "notification-secret-for-tests"


@pytest.fixture
def standin():
    with JenkinsStandIn(quiet_period=0, executors=1) as jenkins:
        yield jenkins


@pytest.fixture
def job(standin, live_server, settings):
    settings.CAPOMASTRO_CHANGES_PUBLIC_URL = live_server.url
    server = standin_server(standin)
    job = Job.objects.create(server=server, jobtype=build_jobtype(), name="libfoo")
    client_for(server).upsert_job(job.name, render_config(job))
    return job


def endpoint(live_server, job, secret=SECRET) -> str:
    return f"{live_server.url}/changes/jenkins/{job.server_id}/notifications/?secret={secret}"


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_build_on_jenkins_is_recorded_with_its_parameters_and_artifacts(job):
    client = client_for(job.server)
    client.trigger(job.name, {"BUILD_ID": "20261121.1", "REVISION": "abc123", "REASON": "change",
                              "PREVIOUS_REVISION": "", "REQUEST_ID": ""})  # fmt: skip
    wait_for(lambda: Build.objects.filter(job=job, phase="FINALIZED").exists())
    build = Build.objects.get(job=job)
    assert (build.number, build.status, build.revision) == (1, "SUCCESS", "abc123")
    assert build.parameters["BUILD_ID"] == "20261121.1"
    artifact = Artifact.objects.get(build=build)
    assert artifact.filename == "revision.txt"
    assert requests.get(artifact.url, timeout=5).text.strip() == "abc123"


def post(live_server, job, body, secret=SECRET):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(endpoint(live_server, job, secret), data=data, timeout=10)


GOOD = {"name": "libfoo", "build": {"number": 7, "phase": "FINALIZED", "status": "SUCCESS"}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"this is not json", "not JSON"),
        ({"name": "libfoo", "build": {"number": "seven", "phase": "STARTED"}}, "build.number"),
        ({"name": "nosuchjob", "build": {"number": 1, "phase": "STARTED"}}, "no job named"),
        ({"name": "libfoo"}, "build"),
        (b"x" * 1_000_000, "limit"),
        (
            {
                "name": "libfoo",
                "build": {
                    **GOOD["build"],
                    "artifacts": {"pkg.deb": {"archive": "javascript:alert(document.cookie)"}},
                },
            },
            "build.artifacts.pkg.deb.archive 'javascript:alert(document.cookie)' "
            "is not an http(s) URL",
        ),  # fmt: skip
        (
            {
                "name": "libfoo",
                "build": {
                    **GOOD["build"],
                    "artifacts": {"pkg.deb": ["https://ok/pkg.deb", " data:text/html,<script>"]},
                },
            },
            "build.artifacts.pkg.deb[1]",
        ),  # fmt: skip
    ],
)
def test_a_bad_notification_is_refused_with_400_and_records_nothing(live_server, job, body, says):
    answer = post(live_server, job, body)
    assert answer.status_code == 400
    assert says in answer.json()["error"]
    assert not Build.objects.exists()


@pytest.mark.parametrize("secret", ["", "wrong-secret"])
def test_a_missing_or_wrong_secret_is_refused_with_403(live_server, job, secret, caplog):
    answer = post(live_server, job, GOOD, secret=secret)
    assert answer.status_code == 403
    assert not Build.objects.exists()
    assert SECRET not in caplog.text and (not secret or secret not in caplog.text)


def test_an_unknown_server_is_answered_like_a_wrong_secret(live_server, job, caplog):
    unknown = endpoint(live_server, job).replace(f"/jenkins/{job.server_id}/", "/jenkins/999999/")
    wrong = endpoint(live_server, job, secret="wrong-secret")
    answers = [requests.post(url, json=GOOD, timeout=10) for url in (unknown, wrong)]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()  # nothing tells the two apart
    assert "Jenkins server 999999 refused: no such server" in caplog.text
    assert not Build.objects.exists()


def test_a_replayed_or_late_notification_changes_nothing(live_server, job):
    assert post(live_server, job, GOOD).status_code == 200
    late = {"name": "libfoo", "build": {"number": 7, "phase": "STARTED"}}
    assert post(live_server, job, late).status_code == 200
    assert post(live_server, job, GOOD).status_code == 200
    build = Build.objects.get(job=job, number=7)
    assert (build.phase, build.status) == ("FINALIZED", "SUCCESS")
