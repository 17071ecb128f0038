"""Our Jenkins client against the stand-in, over real HTTP: results and every failure mode."""

from __future__ import annotations

import pytest

from capomastro_changes.jenkins.client import JenkinsClient
from capomastro_changes.jenkins.errors import (
    InvalidJenkinsURL,
    JenkinsAuthError,
    JenkinsNotFound,
    JenkinsRefused,
    JenkinsServerError,
    JenkinsTimeout,
    JenkinsUnreachable,
)
from capomastro_changes.jenkins.values import BuildParameters
from capomastro_changes.testing.jenkins import pytest_fixtures
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.jenkins.pytest_fixtures import (
    STANDIN_TOKEN,
    STANDIN_USER,
    wait_until,
)

jenkins_standin = pytest_fixtures.jenkins_standin

PARAMETERS = dict.fromkeys(
    ["BUILD_ID", "REVISION", "PREVIOUS_REVISION", "REASON", "REQUEST_ID"], ""
)
STEP = (
    'echo "build $BUILD_ID of $REVISION after $PREVIOUS_REVISION: $REASON"\n'
    'mkdir -p dist && echo "$REVISION" > dist/app.tar'
)
ASKED = BuildParameters(
    build_id=12, revision="r2", previous_revision="r1", reason="changed", request_id=99
)


@pytest.fixture
def client(jenkins_standin):
    return JenkinsClient(jenkins_standin.url, STANDIN_USER, STANDIN_TOKEN, timeout=5)


def finished_build(client, standin, queue_id):
    item = wait_until(lambda: (i := client.queue_item(queue_id)).build_number and i)
    standin.wait_for_build(item.job, item.build_number)
    return client.build(item.job, item.build_number)


def test_a_triggered_build_can_be_followed_to_its_console_and_artifacts(client, jenkins_standin):
    assert (
        client.upsert_job("app", freestyle_job_xml(STEP, parameters=PARAMETERS, artifacts="dist/*"))
        is True
    )
    queued = client.trigger("app", ASKED)
    build = finished_build(client, jenkins_standin, queued.queue_id)

    assert (queued.already_queued, build.result, build.building) == (False, "SUCCESS", False)
    assert dict(build.parameters) == ASKED.as_dict()
    assert "build 12 of r2 after r1: changed" in client.console("app", build.number)
    assert [a.path for a in build.artifacts] == ["dist/app.tar"]
    assert (
        build.artifacts[0].url
        == f"{jenkins_standin.url}job/app/{build.number}/artifact/dist/app.tar"
    )


def test_description_and_display_name_are_set_on_the_build(client, jenkins_standin):
    client.upsert_job("app", freestyle_job_xml("true", parameters=PARAMETERS))
    number = finished_build(client, jenkins_standin, client.trigger("app", ASKED).queue_id).number

    client.set_description("app", number, "Triggered by change: r1 → r2")
    client.set_display_name("app", number, "r2")
    build = client.build("app", number)
    assert (build.display_name, build.description) == ("r2", "Triggered by change: r1 → r2")


def test_updating_an_existing_job_replaces_its_config(client):
    client.upsert_job("app", freestyle_job_xml("echo old"))
    assert client.upsert_job("app", freestyle_job_xml("echo new")) is False
    assert "echo new" in client.job_config("app")


def test_a_duplicate_trigger_while_queued_is_already_queued_not_an_error(client):
    client.upsert_job("app", freestyle_job_xml("true", parameters=PARAMETERS, quiet_period=60))
    first = client.trigger("app", ASKED)
    again = client.trigger("app", ASKED)

    assert again.already_queued is True
    assert again.queue_id == first.queue_id


def test_a_waiting_build_can_be_cancelled_but_not_once_it_started(client, jenkins_standin):
    client.upsert_job("app", freestyle_job_xml("true", parameters=PARAMETERS, quiet_period=60))
    waiting = client.trigger("app", ASKED)
    assert "quiet period" in client.queue_item(waiting.queue_id).why
    client.cancel_queued(waiting.queue_id)
    assert client.queue_item(waiting.queue_id).cancelled is True

    client.upsert_job("now", freestyle_job_xml("true", parameters=PARAMETERS))
    started = client.trigger("now", ASKED)
    finished_build(client, jenkins_standin, started.queue_id)
    with pytest.raises(JenkinsRefused, match="not cancellable"):
        client.cancel_queued(started.queue_id)


def test_cancelling_an_item_jenkins_does_not_know_is_not_taken_for_a_cancel(client):
    """python-jenkins swallows the 404 of cancelItem: an unknown item must not look cancelled."""
    with pytest.raises(JenkinsNotFound, match="queue item 4242"):
        client.cancel_queued(4242)


def test_running_builds_are_listed_and_can_be_stopped(client, jenkins_standin):
    jenkins_standin.faults.hang_builds = True
    client.upsert_job("app", freestyle_job_xml("true", parameters=PARAMETERS))
    queued = client.trigger("app", ASKED)
    item = wait_until(lambda: (i := client.queue_item(queued.queue_id)).build_number and i)

    assert [(b.job, b.number) for b in client.running_builds()] == [("app", item.build_number)]
    client.stop_build("app", item.build_number)
    assert jenkins_standin.wait_for_build("app", item.build_number).result == "ABORTED"


def test_an_unknown_job_is_not_found_naming_the_job(client):
    with pytest.raises(JenkinsNotFound, match="'ghost'"):
        client.trigger("ghost", ASKED)
    with pytest.raises(JenkinsNotFound):
        client.build("ghost", 1)
    with pytest.raises(JenkinsNotFound):
        client.queue_item(424242)


def test_a_disabled_job_refuses_the_trigger(client):
    client.upsert_job("app", freestyle_job_xml("true", parameters=PARAMETERS, disabled=True))
    with pytest.raises(JenkinsRefused, match="409") as refused:
        client.trigger("app", ASKED)
    assert refused.value.status == 409 and refused.value.job == "app"


def test_a_server_error_is_our_server_error(client, jenkins_standin):
    jenkins_standin.faults.fail_next(1, status=500)
    with pytest.raises(JenkinsServerError, match="500"):
        client.check()


def test_a_slow_jenkins_times_out(jenkins_standin):
    jenkins_standin.faults.latency = 1.0
    slow = JenkinsClient(jenkins_standin.url, STANDIN_USER, STANDIN_TOKEN, timeout=0.2)
    with pytest.raises(JenkinsTimeout, match="within 0.2 s"):
        slow.check()


def test_a_stopped_jenkins_is_unreachable_naming_the_server(jenkins_standin):
    client = JenkinsClient(jenkins_standin.url, STANDIN_USER, STANDIN_TOKEN, timeout=5)
    jenkins_standin.stop()
    with pytest.raises(JenkinsUnreachable) as error:
        client.trigger("app", ASKED)
    assert jenkins_standin.url in str(error.value)
    assert "'app'" in str(error.value)


def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(jenkins_standin):
    wrong = JenkinsClient(jenkins_standin.url, STANDIN_USER, "wrong-token-123", timeout=5)
    with pytest.raises(JenkinsAuthError) as error:
        wrong.upsert_job("app", freestyle_job_xml("true"))
    assert "wrong-token-123" not in str(error.value)
    assert "wrong-token-123" not in repr(wrong)


def test_credentials_in_the_url_are_used_and_kept_out_of_messages(jenkins_standin):
    url = jenkins_standin.url.replace("http://", f"http://{STANDIN_USER}:{STANDIN_TOKEN}@")
    client = JenkinsClient(url, timeout=5)
    assert client.check() == jenkins_standin.version
    jenkins_standin.stop()
    with pytest.raises(JenkinsUnreachable) as error:
        client.check()
    assert STANDIN_TOKEN not in str(error.value) and client.server == jenkins_standin.url


def test_a_url_that_is_not_http_is_refused_at_once():
    with pytest.raises(InvalidJenkinsURL, match="not an http"):
        JenkinsClient("ftp://user:secret@jenkins/")
