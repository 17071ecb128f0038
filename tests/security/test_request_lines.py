"""The notification secret rides in the endpoint URL (``?secret=``): request log lines
must never carry it (found by the chaos harness: a 500 during a Redis restart wrote it)."""

import logging

import pytest

from capomastro_changes.redaction import redact_text
from capomastro_changes.site.log_filters import RedactSecrets
from capomastro_changes.site.services import QuietHandler

SECRET = "s3cr3t-never-in-a-log-line"


@pytest.mark.parametrize("parameter", ["secret", "token", "api_token", "password", "SECRET"])
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
