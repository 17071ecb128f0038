"""Writing small freestyle config.xml documents, for tests and demos.

Real jobs come from the templates in ``bygmester_hooks/templates``; this
builds the minimal ones a test needs (a shell step, some parameters, an
artifact pattern, notification endpoints) with every value XML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

ENDPOINT = "com.tikal.hudson.plugins.notification.Endpoint"


def freestyle_job_xml(
    *shell: str,
    parameters: Mapping[str, str] | None = None,
    artifacts: str | None = None,
    allow_empty_archive: bool = False,
    notify: Iterable[str] = (),
    event: str = "all",
    concurrent: bool = False,
    disabled: bool = False,
    quiet_period: int | None = None,
) -> str:
    """A freestyle job's config.xml.

    Args:
        shell: one ``hudson.tasks.Shell`` step per string.
        parameters: string parameters and their defaults; None for an unparameterised job.
        artifacts: the ArtifactArchiver pattern, if any.
        allow_empty_archive: whether a pattern matching nothing is fine.
        notify: Notification plugin endpoint URLs.
        event: the endpoints' event filter.
        concurrent, disabled, quiet_period: as in Jenkins' job configuration.
    """
    properties = "".join(_endpoint(url, event) for url in notify)
    if notify:
        properties = (
            "<com.tikal.hudson.plugins.notification.HudsonNotificationProperty>"
            f"<endpoints>{properties}</endpoints>"
            "</com.tikal.hudson.plugins.notification.HudsonNotificationProperty>"
        )
    if parameters is not None:
        definitions = "".join(
            "<hudson.model.StringParameterDefinition>"
            f"<name>{escape(name)}</name><defaultValue>{escape(default)}</defaultValue>"
            "</hudson.model.StringParameterDefinition>"
            for name, default in parameters.items()
        )
        properties += (
            "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            f"{definitions}</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
        )
    builders = "".join(
        f"<hudson.tasks.Shell><command>{escape(step)}</command></hudson.tasks.Shell>"
        for step in shell
    )
    publishers = ""
    if artifacts is not None:
        publishers = (
            f"<hudson.tasks.ArtifactArchiver><artifacts>{escape(artifacts)}</artifacts>"
            f"<allowEmptyArchive>{str(allow_empty_archive).lower()}</allowEmptyArchive>"
            "</hudson.tasks.ArtifactArchiver>"
        )
    quiet = f"<quietPeriod>{quiet_period}</quietPeriod>" if quiet_period is not None else ""
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n<project><actions/><description/>"
        f'<properties>{properties}</properties><scm class="hudson.scm.NullSCM"/>'
        f"<disabled>{str(disabled).lower()}</disabled>{quiet}"
        f"<concurrentBuild>{str(concurrent).lower()}</concurrentBuild>"
        f"<builders>{builders}</builders><publishers>{publishers}</publishers></project>"
    )


def _endpoint(url: str, event: str) -> str:
    return (
        f"<{ENDPOINT}><protocol>HTTP</protocol><format>JSON</format>"
        f"<urlInfo><urlOrId>{escape(url)}</urlOrId><urlType>PUBLIC</urlType></urlInfo>"
        f"<event>{escape(event)}</event><timeout>5000</timeout><retries>0</retries></{ENDPOINT}>"
    )
