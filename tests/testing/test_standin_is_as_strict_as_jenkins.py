"""The stand-in does what real Jenkins does where a difference would hide our bugs.

Each test names its source: Jenkins core (the class whose behaviour it is),
the Notification plugin's source, or python-jenkins' own tests.
"""

from __future__ import annotations

import json
import re

import jenkins
import requests

from capomastro_changes.jenkins.configs import same_config
from capomastro_changes.jenkins.values import build_from_json, queue_item_from_json
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.jenkins.render import build_json
from capomastro_changes.testing.jenkins.state import Build

PARAMETERS = {"REVISION": "", "TOKEN": "", "CLEAN": "false"}


def typed(xml: str, name: str, kind: str) -> str:
    """``xml`` with parameter ``name`` declared as a ``kind`` (Password, Boolean) parameter."""
    pattern = (
        r"<hudson\.model\.StringParameterDefinition><name>" + name + r"</name>"
        r"(.*?)</hudson\.model\.StringParameterDefinition>"
    )
    definition = f"hudson.model.{kind}ParameterDefinition"
    return re.sub(pattern, rf"<{definition}><name>{name}</name>\1</{definition}>", xml)


def job_xml(notify=()) -> str:
    xml = freestyle_job_xml("echo built", parameters=PARAMETERS, notify=list(notify))
    return typed(typed(xml, "TOKEN", "Password"), "CLEAN", "Boolean")


def built(server, standin, parameters) -> int:
    queue_id = server.build_job("app", parameters)
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]
    standin.wait_for_build("app", number)
    return number


def test_config_xml_comes_back_as_jenkins_xml_transform_writes_it(server):
    # Jenkins core: AbstractItem.updateByXml and ItemGroupMixIn.createProjectFromXML pass the
    # posted text through an identity XML transform (XMLUtils.safeTransform): its own
    # declaration, double-quoted attributes, <x/>, no newline at the end.
    posted = "<?xml version='1.1' encoding='UTF-8'?>\n" + (
        "<project><description></description><scm class='hudson.scm.NullSCM'/>"
        "<builders><hudson.tasks.Shell><command>true</command></hudson.tasks.Shell>"
        "</builders></project>\n"
    )
    server.create_job("app", posted)
    stored = server.get_job_config("app")
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?><project>')
    assert '<scm class="hudson.scm.NullSCM"/>' in stored and "<description/>" in stored
    assert not stored.endswith("\n") and stored != posted
    assert same_config(stored, posted)  # what our probes compare: the meaning
    server.reconfig_job("app", posted.replace(">true<", ">false<"))
    assert not same_config(server.get_job_config("app"), posted)


def test_anonymous_requests_to_a_secured_jenkins_get_403_as_anonymous(jenkins_standin):
    # Jenkins core: AccessDeniedException3.reportAsHeaders; BasicHeaderProcessor for 401.
    with requests.get(jenkins_standin.url + "api/json", timeout=5) as anonymous:
        assert anonymous.status_code == 403
        assert anonymous.headers["X-You-Are-Authenticated-As"] == "anonymous"
        assert anonymous.headers["X-Required-Permission"] == "hudson.model.Hudson.Read"
    with requests.get(jenkins_standin.url + "api/json", auth=("admin", "no"), timeout=5) as bad:
        assert bad.status_code == 401


def test_notifications_leave_out_password_parameters_and_send_an_empty_scm(
    server, jenkins_standin, notification_receiver
):
    # Notification plugin: Phase builds BuildState.parameters skipping sensitive values
    # (ParameterValue.isSensitive()); its ScmState of a job without SCM has only the lists.
    server.create_job("app", job_xml(notify=[notification_receiver.url]))
    built(server, jenkins_standin, {"REVISION": "r1", "TOKEN": "hunter2", "CLEAN": "true"})
    bodies = [json.loads(post.body) for post in notification_receiver.wait_for(4)]
    for body in bodies:
        assert "TOKEN" not in body["build"]["parameters"]
        assert body["build"]["parameters"]["REVISION"] == "r1"
        assert "hunter2" not in json.dumps(body)
    assert bodies[-1]["build"]["scm"] == {"changes": [], "culprits": []}


def test_parameter_values_are_typed_and_we_read_them_by_type(server, jenkins_standin):
    # Jenkins core: BooleanParameterValue exports a JSON boolean, PasswordParameterValue no
    # value; python-jenkins' tests read build actions as Jenkins gives them.
    server.create_job("app", job_xml())
    number = built(server, jenkins_standin, {"REVISION": "r1", "TOKEN": "pw", "CLEAN": "true"})
    data = server.get_build_info("app", number)
    values = {p["name"]: p for a in data["actions"] for p in a.get("parameters", ())}
    assert values["CLEAN"]["value"] is True and values["CLEAN"]["_class"].endswith("Boolean" + (
        "ParameterValue"))  # fmt: skip
    assert "value" not in values["TOKEN"]
    parameters = build_from_json("app", data).parameters
    assert parameters["CLEAN"] == "true" and "TOKEN" not in parameters


def test_a_user_cause_carries_user_id_and_name(server, jenkins_standin):
    # Jenkins core: Cause.UserIdCause exports userId and userName.
    server.create_job("app", job_xml())
    number = built(server, jenkins_standin, {"REVISION": "r1"})
    causes = [c for a in server.get_build_info("app", number)["actions"] for c in a.get(
        "causes", ())]  # fmt: skip
    assert (causes[0]["userId"], causes[0]["userName"]) == ("admin", "admin")


def test_a_result_can_be_set_while_the_build_is_still_building(tmp_path):
    # Jenkins core: Run.execute sets the result when the build steps end and runs the
    # post-build steps (archiving, notifiers) before building turns false.
    build = Build("app", 1, 1, {}, ["Started by user admin"], 0, tmp_path, tmp_path)
    build.result = "SUCCESS"
    data = build_json(build, "http://jenkins/")
    assert (data["building"], data["result"]) == (True, "SUCCESS")
    assert build_from_json("app", data).building  # we wait for building to turn false


def test_a_left_queue_item_briefly_has_no_executable(tmp_path):
    # Jenkins core: Queue$LeftItem.getExecutable() is null until the executor made the build.
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "j") as standin:
        server = jenkins.Jenkins(standin.url, timeout=10)
        server.create_job("app", freestyle_job_xml("sleep 1"))
        queue_id = server.build_job("app")
        left = wait_until(lambda: "LeftItem" in (i := server.get_queue_item(queue_id))["_class"]
                          and i, timeout=10)  # fmt: skip
        assert left["executable"] is None and not left["cancelled"]
        assert queue_item_from_json(left).build_number is None
        made = wait_until(lambda: server.get_queue_item(queue_id)["executable"], timeout=10)
        assert made["number"] == 1


def test_submit_description_reads_the_query_string_too(tmp_path):
    # Jenkins core: Run.doSubmitDescription reads req.getParameter("description").
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "j") as standin:
        server = jenkins.Jenkins(standin.url, timeout=10)
        server.create_job("app", freestyle_job_xml("true"))
        server.build_job("app")
        standin.wait_for_build("app", 1)
        url = standin.url + "job/app/1/submitDescription?description=from+the+query"
        crumb = {"Jenkins-Crumb": standin.crumb} if standin.crumbs else {}
        with requests.post(url, headers=crumb, timeout=5, allow_redirects=False) as answer:
            assert answer.status_code == 302
        assert server.get_build_info("app", 1)["description"] == "from the query"


def test_job_and_build_pages_are_readable(server, jenkins_standin):
    # Jenkins' job and build pages lead with the build history, status and parameters.
    server.create_job("app", job_xml())
    number = built(server, jenkins_standin, {"REVISION": "r-42", "TOKEN": "hunter2"})
    job = requests.get(jenkins_standin.url + "job/app/", auth=("admin", "s3cret-api-token"))
    assert "Build History" in job.text and f"/job/app/{number}/" in job.text
    page = requests.get(f"{jenkins_standin.url}job/app/{number}/",
                        auth=("admin", "s3cret-api-token")).text  # fmt: skip
    assert "SUCCESS" in page and "r-42" in page and "Console Output" in page
    assert "hunter2" not in page and "****" in page
