"""From a JenkinsServer row to a python-jenkins client, with the app's timeout."""

from __future__ import annotations

from capomastro_changes.conf import settings
from capomastro_changes.jenkins_client import JenkinsClient


def client_for(server) -> JenkinsClient:
    """A client for ``server`` (a :class:`~capomastro_changes.models.JenkinsServer`)."""
    return JenkinsClient(
        server.url,
        username=server.username or None,
        api_token=server.api_token or None,
        timeout=float(settings.JENKINS_TIMEOUT),
    )
