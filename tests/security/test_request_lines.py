"""The notification secret rides in the endpoint URL (``?secret=``): request log lines
must never carry it (found by the chaos harness: a 500 during a Redis restart wrote it)."""

import logging

import pytest

from capomastro_changes.redaction import redact_text
from capomastro_changes.site.log_filters import RedactSecrets
from capomastro_changes.site.services import QuietHandler

SECRET = "s3cr3t-never-in-a-log-line"


@pytest.mark.parametrize(
    "parameter",
    [
        "secret",
        "token",
        "api_token",
        "password",
        "SECRET",
        "client_secret",
        "refresh_token",
        "X-Amz-Signature",
        "%74oken",
        "%73ecret",
    ],
)
def test_secret_query_parameters_are_redacted(parameter):
    line = f'"POST /changes/jenkins/1/notifications/?a=1&{parameter}={SECRET}&b=2 HTTP/1.1" 500'
    shown = redact_text(line)
    assert SECRET not in shown
    assert f"{parameter}=***&b=2" in shown


def test_the_site_logging_filter_redacts_request_lines(caplog):
    logger = logging.getLogger("test.requests")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.INFO, logger="test.requests"):
        logger.info('"%s" %s %s', f"POST /n/?secret={SECRET} HTTP/1.1", "500", "145")
    assert SECRET not in caplog.text and "secret=***" in caplog.text


def test_the_quiet_server_logs_failed_requests_without_the_secret(caplog):
    handler = QuietHandler.__new__(QuietHandler)  # only log_message is exercised
    handler.request = None
    handler.client_address = ("127.0.0.1", 1)
    handler.requestline = ""
    with caplog.at_level(logging.INFO, logger="django.server"):
        handler.log_message('"%s" %s %s', f"POST /n/?secret={SECRET} HTTP/1.1", "500", "145")
    assert "secret=***" in caplog.text
    assert SECRET not in caplog.text


def test_the_site_settings_attach_the_filter_to_request_lines(settings):
    handler = settings.LOGGING["loggers"]["django.server"]["handlers"][0]
    assert "redact" in settings.LOGGING["handlers"][handler]["filters"]


URL_PASSWORD = "url-password-in-a-request-line-9f2c"
USER_TOKEN = "ghp_TokenAsUserNameInTheRequestLine77"


@pytest.mark.django_db
def test_no_credential_reaches_a_jenkins_request_line(tmp_path, monkeypatch):
    """Jenkins' access log (and a proxy's) keeps request lines: parameters go in the body."""
    from capomastro_changes.jenkins.client import JenkinsClient
    from capomastro_changes.jenkins.configs import render_config
    from capomastro_changes.models import JobType
    from capomastro_changes.probes import jenkins as jenkins_probe
    from capomastro_changes.revisions import SourceRef
    from capomastro_changes.testing.factories import make_job
    from capomastro_changes.testing.jenkins import JenkinsStandIn
    from capomastro_changes.testing.world import build_jobtype

    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    jobtype = JobType.objects.create(
        name="lines", config_xml="<project/>", probe_runner=JobType.PROBE_JENKINS,
    )  # fmt: skip
    sources = [
        SourceRef("git", f"https://builder:{URL_PASSWORD}@git.example.com/a.git", "main"),
        SourceRef("git", f"https://{USER_TOKEN}@git.example.com/b.git", "main"),
    ]
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "jenkins") as standin:
        client = JenkinsClient(standin.url)
        for source in sources:
            run = jenkins_probe.start(client, jobtype, source, request_id=f"t-{source.url[-5:]}")
            assert isinstance(run, jenkins_probe.ProbeRun), run
        job = make_job(jobtype=build_jobtype("lines-build"), name="lines-build")
        client.upsert_job(job.name, render_config(job))
        client.trigger(job.name, {"REVISION": "abc", "REQUEST_ID": "1", "BUILD_ID": "",
                                  "PREVIOUS_REVISION": "", "REASON": USER_TOKEN})  # fmt: skip
        probes = [r for r in standin.build_log() if r.job.startswith("capomastro-probe-")]
        lines = list(standin.access_log)
    assert len(probes) == 2  # the probes ran with their parameters
    assert sum("/buildWithParameters" in line for line in lines) == 3
    leaks = [line for line in lines for s in (URL_PASSWORD, USER_TOKEN) if s in line]
    assert leaks == []


def test_a_percent_encoded_url_in_a_query_keeps_no_credential():
    line = (
        "POST /changes/push/?url=https%3A%2F%2Fghp_EncodedToken99%40github.com%2Fo%2Fr.git HTTP/1.1"
    )
    shown = redact_text(line)
    assert "ghp_EncodedToken99" not in shown and "https%3A%2F%2F***%40github.com" in shown
