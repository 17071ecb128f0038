"""Notification-plugin payloads of every plugin version parse; bad ones say what is wrong."""

from __future__ import annotations

import json

import pytest

from capomastro_changes.builds.notifications import (
    COMPLETED,
    FINALIZED,
    MAX_BODY_BYTES,
    QUEUED,
    BadNotification,
    parse_event,
)

V1_5_FINISHED = {
    "name": "app",
    "url": "job/app/",
    "build": {
        "full_url": "http://jenkins/job/app/18/",
        "number": 18,
        "phase": "FINISHED",
        "status": "SUCCESS",
        "url": "job/app/18/",
        "parameters": {"BUILD_ID": "42"},
    },
}
V1_6_COMPLETED = {
    "name": "app",
    "url": "job/app/",
    "build": {
        "number": 18,
        "phase": "COMPLETED",
        "status": "FAILURE",
        "scm": {"url": "https://git/repo.git", "branch": "origin/master", "commit": "c6d86dc7"},
        "artifacts": {"out/app.tar": ["http://jenkins/job/app/18/artifact/out/app.tar"]},
    },
}
V1_12_QUEUED = {
    "name": "app",
    "display_name": "App",
    "url": "job/app/",
    "build": {
        "number": 18,
        "queue_id": 5,
        "timestamp": 1700000000000,
        "phase": "QUEUED",
        "url": "job/app/18/",
        "scm": {},
        "log": "",
    },
}
V1_15_FINALIZED = {
    "name": "app",
    "url": "job/app/",
    "build": {
        "full_url": "http://jenkins/job/app/18/",
        "number": 18,
        "queue_id": 5,
        "timestamp": 1700000000000,
        "duration": 1234,
        "phase": "FINALIZED",
        "status": "UNSTABLE",
        "scm": {"changes": ["a.c"], "culprits": ["dev"]},
        "parameters": {"BUILD_ID": "42", "REVISION": "r2"},
        "artifacts": {
            "out/app.tar": {
                "archive": "http://jenkins/job/app/18/artifact/out/app.tar",
                "s3": "https://s3/app.tar",
            }
        },
    },
}


def encode(payload) -> bytes:
    return json.dumps(payload).encode()


def test_plugin_1_5_finished_means_done():
    event = parse_event(encode(V1_5_FINISHED))
    assert (event.phase, event.raw_phase, event.is_done) == (FINALIZED, "FINISHED", True)
    assert (event.job_name, event.number, event.status) == ("app", 18, "SUCCESS")
    assert dict(event.parameters) == {"BUILD_ID": "42"}
    assert event.full_url == "http://jenkins/job/app/18/"


def test_plugin_1_6_artifact_lists_and_git_details_are_read():
    event = parse_event(encode(V1_6_COMPLETED))
    assert (event.phase, event.is_done, event.status) == (COMPLETED, False, "FAILURE")
    assert event.artifacts[0].path == "out/app.tar"
    assert event.artifacts[0].url == "http://jenkins/job/app/18/artifact/out/app.tar"
    assert event.scm.commit == "c6d86dc7" and event.scm.branch == "origin/master"


def test_plugin_1_12_queued_has_no_status_yet():
    event = parse_event(encode(V1_12_QUEUED))
    assert (event.phase, event.status, event.queue_id) == (QUEUED, None, 5)
    assert event.display_name == "App" and event.scm.commit is None
    assert dict(event.parameters) == {} and event.artifacts == ()


def test_plugin_1_15_finalized_carries_duration_and_archive_urls():
    event = parse_event(json.dumps(V1_15_FINALIZED))  # text is accepted as well as bytes
    assert (event.is_done, event.status, event.duration) == (True, "UNSTABLE", 1234)
    artifact = event.artifacts[0]
    assert artifact.url == "http://jenkins/job/app/18/artifact/out/app.tar"
    assert dict(artifact.locations)["s3"] == "https://s3/app.tar"
    assert event.scm.culprits == ("dev",)


def test_a_parsed_event_cannot_be_changed():
    event = parse_event(encode(V1_15_FINALIZED))
    with pytest.raises(AttributeError):
        event.phase = QUEUED
    with pytest.raises(TypeError):
        event.parameters["BUILD_ID"] = "1"


def with_build(**changes):
    payload = json.loads(json.dumps(V1_15_FINALIZED))
    for key, value in changes.items():
        if value is ...:
            del payload["build"][key]
        else:
            payload["build"][key] = value
    return encode(payload)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html>bad gateway</html>", "not JSON"),
        (b"\xff\xfe junk", "not UTF-8"),
        (b"[1, 2]", "the notification must be an object, got array"),
        (encode({"build": V1_5_FINISHED["build"]}), "name is missing"),
        (encode({"name": "app"}), "build is missing"),
        (encode({"name": "app", "build": "18"}), "build must be an object, got string"),
        (encode({"name": " ", "build": V1_5_FINISHED["build"]}), "name is empty"),
        (with_build(number=...), "build.number is missing"),
        (with_build(number="18"), "build.number must be an integer, got string '18'"),
        (with_build(number=True), "build.number must be an integer, got boolean"),
        (with_build(number=0), "build.number must lie between 1 and 2147483647, got 0"),
        (with_build(phase=...), "build.phase is missing"),
        (with_build(phase="EXPLODED"), "build.phase 'EXPLODED' is not a known phase"),
        (with_build(status="GREEN"), "build.status 'GREEN' is not a Jenkins result"),
        (with_build(full_url="javascript:alert(1)"), "build.full_url"),
        (with_build(parameters={"BUILD_ID": 42}), "build.parameters.BUILD_ID must be a string"),
        (with_build(parameters=["BUILD_ID"]), "build.parameters must be an object"),
        (with_build(artifacts={"a": 3}), "build.artifacts.a must be an object"),
        (with_build(artifacts={"a": {"archive": 3}}), "build.artifacts.a.archive must be"),
        (
            with_build(artifacts={"a": {"archive": "javascript:alert(1)"}}),
            "build.artifacts.a.archive 'javascript:alert(1)' is not an http(s) URL",
        ),
        (with_build(artifacts={"a": ["JavaScript:alert(1)"]}), "build.artifacts.a[0] 'JavaScript"),
        (with_build(artifacts={"a": {"s3": "java\tscript:x"}}), "build.artifacts.a.s3"),
        (with_build(scm={"changes": "a.c"}), "build.scm.changes must be an array"),
        (with_build(queue_id="5"), "build.queue_id must be an integer"),
    ],
)
def test_a_bad_payload_is_refused_with_a_message_saying_what_is_wrong(body, message):
    with pytest.raises(BadNotification) as refused:
        parse_event(body)
    assert message in str(refused.value)


def test_a_megabyte_of_junk_is_refused_by_size_before_it_is_read():
    with pytest.raises(BadNotification, match=f"1048576 bytes; the limit is {MAX_BODY_BYTES}"):
        parse_event(b"x" * 1024 * 1024)


def test_a_long_bad_value_is_shortened_in_the_message():
    with pytest.raises(BadNotification) as refused:
        parse_event(with_build(phase="Z" * 5000))
    assert len(str(refused.value)) < 300


@pytest.mark.django_db
def test_a_credential_a_plugin_sends_among_the_parameters_is_never_stored():
    from capomastro_changes.builds.records import store_build
    from capomastro_changes.testing.factories import make_job

    body = json.loads(json.dumps(V1_5_FINISHED))
    body["build"]["parameters"] = {"BUILD_ID": "42", "EPHEMERA_TOKEN": "t" * 43,
                                   "DEPLOY_PASSWORD": "hunter2", "REVISION": "abc"}  # fmt: skip
    build, _ = store_build(make_job(name="app"), parse_event(json.dumps(body)))
    build.refresh_from_db()
    assert build.parameters == {"BUILD_ID": "42", "REVISION": "abc"}
