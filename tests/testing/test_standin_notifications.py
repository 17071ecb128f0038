"""The stand-in posts Notification-plugin JSON to a real endpoint, in the plugin's order."""

from __future__ import annotations

import base64
import json

import jenkins

from capomastro_changes.builds.notifications import parse_event
from capomastro_changes.testing.jenkins import JenkinsStandIn, NotificationReceiver
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until

STEP = "mkdir -p out && echo done > out/result.txt"


def run(server, standin, xml, parameters=None):
    server.create_job("app", xml)
    queue_id = server.build_job("app", parameters)
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]
    standin.wait_for_build("app", number)
    return queue_id, number


def test_a_build_posts_queued_started_completed_finalized(
    server, jenkins_standin, notification_receiver
):
    xml = freestyle_job_xml(
        STEP, parameters={"REVISION": ""}, artifacts="out/*", notify=[notification_receiver.url]
    )
    queue_id, number = run(server, jenkins_standin, xml, {"REVISION": "r9"})
    posts = notification_receiver.wait_for(4)
    bodies = [json.loads(post.body) for post in posts]

    assert [b["build"]["phase"] for b in bodies] == ["QUEUED", "STARTED", "COMPLETED", "FINALIZED"]
    assert posts[0].headers["Content-Type"] == "application/json;charset=UTF-8"
    queued, _, completed, finalized = bodies
    assert queued["name"] == "app" and queued["url"] == "job/app/"
    assert "status" not in queued["build"]  # null fields are left out
    assert queued["build"]["queue_id"] == queue_id
    assert queued["build"]["parameters"] == {"REVISION": "r9"}
    assert finalized["build"]["status"] == "SUCCESS"
    assert finalized["build"]["full_url"] == f"{jenkins_standin.url}job/app/{number}/"
    artifact_url = f"{jenkins_standin.url}job/app/{number}/artifact/out/result.txt"
    assert completed["build"]["artifacts"] == {"out/result.txt": {"archive": artifact_url}}


def test_what_the_stand_in_posts_is_what_our_parser_accepts(
    server, jenkins_standin, notification_receiver
):
    xml = freestyle_job_xml(STEP, artifacts="out/*", notify=[notification_receiver.url])
    run(server, jenkins_standin, xml)
    events = [parse_event(post.body) for post in notification_receiver.wait_for(4)]

    assert [e.is_done for e in events] == [False, False, False, True]
    assert events[-1].artifacts[0].path == "out/result.txt"


def test_legacy_plugin_behaviour_says_finished_and_skips_queued(tmp_path, notification_receiver):
    with JenkinsStandIn(quiet_period=0, notification_style="legacy", root=tmp_path) as standin:
        server = jenkins.Jenkins(standin.url)
        run(server, standin, freestyle_job_xml("true", notify=[notification_receiver.url]))
        bodies = [json.loads(p.body) for p in notification_receiver.wait_for(3)]

    assert [b["build"]["phase"] for b in bodies] == ["STARTED", "COMPLETED", "FINISHED"]
    assert "queue_id" not in bodies[0]["build"]


def test_an_endpoint_only_gets_the_events_it_asked_for(
    server, jenkins_standin, notification_receiver
):
    xml = freestyle_job_xml("true", notify=[notification_receiver.url], event="completed")
    run(server, jenkins_standin, xml)
    wait_until(lambda: len(jenkins_standin.deliveries()) == 1)

    assert [json.loads(p.body)["build"]["phase"] for p in notification_receiver.posts()] == [
        "COMPLETED"
    ]


def test_dropped_notifications_never_arrive_but_are_logged(
    server, jenkins_standin, notification_receiver
):
    jenkins_standin.faults.drop_notifications = 1.0
    run(server, jenkins_standin, freestyle_job_xml("true", notify=[notification_receiver.url]))

    assert notification_receiver.posts() == []
    assert [d.outcome for d in jenkins_standin.deliveries()] == ["dropped"] * 4


def test_credentials_in_the_endpoint_url_become_basic_auth_and_stay_out_of_the_log(
    server, jenkins_standin, notification_receiver
):
    url = notification_receiver.url.replace("http://", "http://hook:hook-secret@") + "n/"
    run(server, jenkins_standin, freestyle_job_xml("true", notify=[url]))
    post = notification_receiver.wait_for(1)[0]

    assert post.headers["Authorization"] == "Basic " + base64.b64encode(b"hook:hook-secret").decode(
        "ascii"
    )
    assert all("hook-secret" not in d.url for d in jenkins_standin.deliveries())


def test_a_receiver_error_is_ignored_as_the_plugin_does(server, jenkins_standin):
    with NotificationReceiver(status=500) as failing:
        _, number = run(server, jenkins_standin, freestyle_job_xml("true", notify=[failing.url]))
        failing.wait_for(4)

    assert jenkins_standin.build_log()[0].result == "SUCCESS"
    assert {d.outcome for d in jenkins_standin.deliveries()} == {"sent 500"}
