"""Fixtures for the Jenkins stand-in's own tests: a python-jenkins client on it."""

from __future__ import annotations

import jenkins
import pytest

from capomastro_changes.testing.jenkins.pytest_fixtures import (  # noqa: F401 (fixtures)
    STANDIN_TOKEN,
    STANDIN_USER,
    jenkins_standin,
    notification_receiver,
)


@pytest.fixture
def server(jenkins_standin):  # noqa: F811
    """python-jenkins, logged in to the stand-in."""
    return jenkins.Jenkins(jenkins_standin.url, STANDIN_USER, STANDIN_TOKEN, timeout=10)
