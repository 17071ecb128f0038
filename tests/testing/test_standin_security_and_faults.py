"""Auth, crumbs, fault knobs and restarts: the stand-in fails the ways Jenkins does."""

from __future__ import annotations

import json
import threading
import time

import jenkins
import pytest
import requests

from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import STANDIN_TOKEN, STANDIN_USER

AUTH = (STANDIN_USER, STANDIN_TOKEN)


def test_every_answer_carries_the_jenkins_version_header(server, jenkins_standin):
    assert server.get_whoami()["id"] == STANDIN_USER
    assert server.get_version() == jenkins_standin.version


def test_a_wrong_password_is_answered_401(jenkins_standin):
    wrong = jenkins.Jenkins(jenkins_standin.url, STANDIN_USER, "not-the-token")
    with pytest.raises(jenkins.JenkinsException, match=r"\[401\]"):
        wrong.get_whoami()


def test_a_post_without_the_crumb_is_refused(jenkins_standin):
    url = jenkins_standin.url + "createItem?name=app"
    headers = {"Content-Type": "text/xml"}
    with requests.post(url, data=freestyle_job_xml("true"), headers=headers, auth=AUTH) as bare:
        assert bare.status_code == 403
        assert "No valid crumb" in bare.text
    with requests.get(jenkins_standin.url + "crumbIssuer/api/json", auth=AUTH) as issued:
        crumb = issued.json()
    headers[crumb["crumbRequestField"]] = crumb["crumb"]
    with requests.post(url, data=freestyle_job_xml("true"), headers=headers, auth=AUTH) as ok:
        assert ok.status_code == 200


def test_without_crumbs_python_jenkins_posts_plainly(tmp_path):
    with JenkinsStandIn(quiet_period=0, crumbs=False, root=tmp_path) as standin:
        with requests.get(standin.url + "crumbIssuer/api/json") as issuer:
            assert issuer.status_code == 404
        server = jenkins.Jenkins(standin.url)
        server.create_job("app", freestyle_job_xml("true"))
        assert server.job_exists("app")


def test_injected_errors_hit_the_api_but_not_the_observer_window(server, jenkins_standin):
    jenkins_standin.faults.update(error_rate=1.0)
    with pytest.raises(jenkins.JenkinsException, match=r"\[500\]"):
        server.get_whoami()
    with requests.get(jenkins_standin.url + "standin/builds") as log:
        assert log.json() == {"builds": []}


def test_scheduled_faults_answer_exactly_the_next_requests(server, jenkins_standin):
    jenkins_standin.faults.fail_next(1, status=503)
    with pytest.raises(jenkins.BadHTTPException):
        server.get_whoami()
    assert server.get_whoami()["id"] == STANDIN_USER


def test_a_dropped_connection_reaches_the_client_as_a_connection_error(server, jenkins_standin):
    jenkins_standin.faults.disconnect_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        server.get_whoami()


def test_fault_knobs_can_be_turned_over_http(jenkins_standin):
    url = jenkins_standin.url + "standin/faults"
    with requests.post(url, json={"latency": 0.01, "drop_notifications": 0.5}) as answer:
        assert answer.json()["drop_notifications"] == 0.5
    assert jenkins_standin.faults.latency == 0.01
    with requests.post(url, json={"no_such_knob": 1}) as refused:
        assert refused.status_code == 400 and "no_such_knob" in refused.text


def test_a_restart_loses_the_queue_and_the_old_crumb(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}, quiet_period=60))
    queue_id = server.build_job("app", {"R": "1"})

    jenkins_standin.restart()
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        server.get_queue_item(queue_id)
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        server.build_job("app", {"R": "1"})  # the cached crumb is stale now
    fresh = jenkins.Jenkins(jenkins_standin.url, *AUTH)
    assert fresh.build_job("app", {"R": "1"}) > queue_id


def test_a_restart_kills_running_builds_unreported_and_answers_503_while_starting(
    jenkins_standin, server, notification_receiver
):
    jenkins_standin.faults.hang_builds = True
    server.create_job("app", freestyle_job_xml("true", notify=[notification_receiver.url]))
    server.build_job("app")
    notification_receiver.wait_for(2)  # QUEUED, STARTED: the build runs

    jenkins_standin.restart(downtime=30)
    assert jenkins_standin.wait_for_build("app", 1).result == "ABORTED"
    with requests.get(jenkins_standin.url + "api/json", auth=AUTH) as starting:
        assert starting.status_code == 503
    phases = [json.loads(p.body)["build"]["phase"] for p in notification_receiver.posts()]
    assert phases == ["QUEUED", "STARTED"]


def test_an_item_that_left_the_queue_is_forgotten_after_its_time(tmp_path):
    with JenkinsStandIn(quiet_period=0, left_item_ttl=0.2, root=tmp_path) as standin:
        server = jenkins.Jenkins(standin.url)
        server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}))
        queue_id = server.build_job("app", {"R": "1"})
        assert standin.wait_for_build("app", 1).queue_id == queue_id
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # Jenkins forgets it on a later dispatch
            try:
                server.get_queue_item(queue_id)
            except jenkins.JenkinsException:
                break
            time.sleep(0.05)
        with pytest.raises(jenkins.JenkinsException, match="does not exist"):
            server.get_queue_item(queue_id)
        assert server.get_build_info("app", 1)["queueId"] == queue_id  # the build stays


def test_a_slow_trigger_is_queued_late_or_answered_late(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}, quiet_period=60))
    jenkins_standin.faults.update(trigger_delay=0.5)
    queued = []
    thread = threading.Thread(target=lambda: queued.append(server.build_job("app", {"R": "1"})))
    thread.start()
    time.sleep(0.3)
    assert jenkins_standin.queue.waiting() == []  # still on its way
    thread.join()
    assert [item["id"] for item in server.get_queue_info()] == queued

    jenkins_standin.faults.update(trigger_delay=0.0, trigger_latency=0.5)
    thread = threading.Thread(target=lambda: queued.append(server.build_job("app", {"R": "2"})))
    thread.start()
    time.sleep(0.3)
    assert len(jenkins_standin.queue.waiting()) == 2 and len(queued) == 1  # taken, not answered
    thread.join()
    assert [item["id"] for item in server.get_queue_info()] == queued
