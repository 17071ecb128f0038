"""python-jenkins drives the stand-in over real HTTP: jobs, queue, builds, console, artifacts."""

from __future__ import annotations

import jenkins
import pytest
import requests

from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until

ECHO = 'echo "building $REVISION for $BUILD_ID"\nmkdir -p out\necho "$REVISION" > out/rev.txt'


def start_build(server, name, parameters):
    """Trigger and follow the queue item to its build number."""
    queue_id = server.build_job(name, parameters)
    item = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))
    return item["number"]


def test_a_triggered_build_runs_the_shell_step_with_its_parameters(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml(ECHO, parameters={"REVISION": "", "BUILD_ID": ""}))
    number = start_build(server, "app", {"REVISION": "r42", "BUILD_ID": "7", "UNDECLARED": "x"})
    record = jenkins_standin.wait_for_build("app", number)

    assert record.result == "SUCCESS"
    assert record.parameters == {"REVISION": "r42", "BUILD_ID": "7"}
    console = server.get_build_console_output("app", number)
    assert console.startswith("Started by user admin")
    assert "building r42 for 7" in console
    assert console.rstrip().endswith("Finished: SUCCESS")


def test_artifacts_matching_the_pattern_are_listed_and_served(server, jenkins_standin):
    xml = freestyle_job_xml(
        ECHO + "\necho no > out/skip.log", parameters={"REVISION": ""}, artifacts="out/*.txt"
    )
    server.create_job("app", xml)
    number = start_build(server, "app", {"REVISION": "abc"})
    jenkins_standin.wait_for_build("app", number)

    info = server.get_build_info("app", number)
    assert [a["relativePath"] for a in info["artifacts"]] == ["out/rev.txt"]
    assert server.get_build_artifact_as_bytes("app", number, "out/rev.txt") == b"abc\n"


def test_a_build_is_reported_running_with_no_result_until_stopped(server, jenkins_standin):
    jenkins_standin.faults.hang_builds = True
    server.create_job("app", freestyle_job_xml("true", parameters={"REVISION": ""}))
    number = start_build(server, "app", {"REVISION": "1"})

    info = server.get_build_info("app", number)
    assert info["building"] is True and info["result"] is None
    assert server.get_running_builds() == [
        {"name": "app", "number": number, "url": info["url"], "node": "(master)", "executor": 0}
    ]
    server.stop_build("app", number)
    assert jenkins_standin.wait_for_build("app", number).result == "ABORTED"
    assert server.get_build_info("app", number)["result"] == "ABORTED"


def test_a_failing_step_fails_the_build_and_skips_later_steps(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("echo one; exit 3", "echo never-here"))
    queue_id = server.build_job("app")
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]

    assert jenkins_standin.wait_for_build("app", number).result == "FAILURE"
    assert "never-here" not in server.get_build_console_output("app", number)


def test_an_artifact_pattern_matching_nothing_fails_the_build(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("true", artifacts="dist/**/*.whl"))
    queue_id = server.build_job("app")
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]

    assert jenkins_standin.wait_for_build("app", number).result == "FAILURE"
    assert "No artifacts found" in server.get_build_console_output("app", number)


def test_a_duplicate_trigger_while_queued_surfaces_as_not_found(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}, quiet_period=60))
    first = server.build_job("app", {"R": "1"})

    with pytest.raises(jenkins.NotFoundException):  # 303 to queue/item/N/, which is a 404
        server.build_job("app", {"R": "1"})
    other = server.build_job("app", {"R": "2"})
    assert other != first
    assert len(server.get_queue_info()) == 2


def test_older_jenkins_answers_a_duplicate_with_the_existing_item(server, jenkins_standin):
    jenkins_standin.duplicate_status = 201
    server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}, quiet_period=60))

    assert server.build_job("app", {"R": "1"}) == server.build_job("app", {"R": "1"})


def test_jenkins_traps_disabled_job_and_wrong_build_endpoint(server):
    server.create_job("params", freestyle_job_xml("true", parameters={"R": ""}))
    server.create_job("plain", freestyle_job_xml("true"))
    server.create_job("off", freestyle_job_xml("true", parameters={"R": ""}, disabled=True))

    with pytest.raises(requests.HTTPError) as disabled:
        server.build_job("off", {"R": "1"})
    assert disabled.value.response.status_code == 409
    with pytest.raises(requests.HTTPError) as unparameterised:
        server.build_job("params")
    assert unparameterised.value.response.status_code == 400
    with pytest.raises(requests.HTTPError) as not_parameterized:
        server.build_job("plain", {"R": "1"})
    assert not_parameterized.value.response.status_code == 400


def test_a_job_without_concurrent_builds_runs_them_one_after_another(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("sleep 0.3", parameters={"R": ""}))
    first = server.build_job("app", {"R": "1"})
    wait_until(lambda: server.get_queue_item(first).get("executable"))
    second = server.build_job("app", {"R": "2"})

    item = wait_until(lambda: server.get_queue_item(second).get("why"))
    assert "already in progress" in item
    wait_until(lambda: server.get_queue_item(second).get("executable"))
    jenkins_standin.wait_for_build("app", 2)
    one, two = jenkins_standin.build_log()
    assert one.finished_at <= two.started_at


def test_a_queued_item_can_be_cancelled_once(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("true", parameters={"R": ""}, quiet_period=60))
    queue_id = server.build_job("app", {"R": "1"})

    server.cancel_queue(queue_id)
    item = server.get_queue_item(queue_id)
    assert item["cancelled"] is True and item["executable"] is None
    with pytest.raises(requests.HTTPError) as again:
        server.cancel_queue(queue_id)
    assert again.value.response.status_code == 422
    assert jenkins_standin.build_log() == []


def test_config_xml_round_trips_and_reconfiguring_changes_what_runs(server, jenkins_standin):
    server.create_job("app", freestyle_job_xml("echo first"))
    server.reconfig_job("app", freestyle_job_xml("echo second"))
    assert "echo second" in server.get_job_config("app")

    queue_id = server.build_job("app")
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]
    jenkins_standin.wait_for_build("app", number)
    assert "second" in server.get_build_console_output("app", number)
    assert server.get_job_info("app", fetch_all_builds=True)["builds"][0]["number"] == number


def test_creating_a_job_twice_is_refused(server):
    server.create_job("app", freestyle_job_xml("true"))
    with pytest.raises(jenkins.JenkinsException, match="already exists"):
        server.create_job("app", freestyle_job_xml("true"))


def test_a_password_parameter_reaches_the_build_but_no_page_shows_it(server, jenkins_standin):
    xml = freestyle_job_xml('test "$TOKEN" = hunter22', parameters={"TOKEN": "", "REV": ""})
    string_token = (
        "<hudson.model.StringParameterDefinition><name>TOKEN</name><defaultValue></defaultValue>"
        "</hudson.model.StringParameterDefinition>"
    )
    password_token = string_token.replace(
        "StringParameterDefinition", "PasswordParameterDefinition"
    )
    server.create_job("app", xml.replace(string_token, password_token))
    queue_id = server.build_job("app", {"TOKEN": "hunter22", "REV": "r1"})
    item = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))
    record = jenkins_standin.wait_for_build("app", item["number"])

    assert record.result == "SUCCESS"  # the step saw the value
    build = server.get_build_info("app", item["number"])
    queued = server.get_queue_item(queue_id)
    assert "hunter22" not in f"{build} {queued}"
    assert queued["params"] == "\nTOKEN=****\nREV=r1"
    assert build["actions"][0]["parameters"] == [
        {"_class": "hudson.model.PasswordParameterValue", "name": "TOKEN"},
        {"_class": "hudson.model.StringParameterValue", "name": "REV", "value": "r1"},
    ]
