"""pytest fixtures for testing against the Jenkins stand-in.

Register with ``pytest_plugins = ["capomastro_changes.testing.jenkins.pytest_fixtures"]``
in a root conftest.py, or import the fixtures into a test module.
"""

from __future__ import annotations

import time

import pytest

from capomastro_changes.testing.jenkins.receiver import NotificationReceiver
from capomastro_changes.testing.jenkins.standin import JenkinsStandIn

STANDIN_USER = "admin"
STANDIN_TOKEN = "s3cret-api-token"


@pytest.fixture
def jenkins_standin(tmp_path):
    """A running stand-in with auth and crumbs on, no quiet period; stopped afterwards."""
    standin = JenkinsStandIn(
        username=STANDIN_USER, password=STANDIN_TOKEN, quiet_period=0, root=tmp_path / "jenkins"
    )
    with standin:
        yield standin


@pytest.fixture
def notification_receiver():
    """A local HTTP server recording every post, for notification endpoints."""
    with NotificationReceiver() as receiver:
        yield receiver


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.01):
    """Poll ``predicate`` until it returns something true, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
