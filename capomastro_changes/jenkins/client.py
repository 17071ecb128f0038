"""The bridge to python-jenkins: the one module of the app that imports ``jenkins``.

It takes plain values (URL, user, API token, timeout) so it can be used and
tested without Django, answers with frozen dataclasses, and turns every
failure python-jenkins lets through (its own exceptions, raw ``requests``
HTTP and connection errors, unreadable JSON) into one of the types in
:mod:`capomastro_changes.jenkins.errors`, whose messages name the server and
the job and never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import contextmanager

import jenkins
import requests

from capomastro_changes.conf import settings
from capomastro_changes.jenkins.addresses import job_path, split_credentials
from capomastro_changes.jenkins.errors import (  # re-exported for callers
    InvalidJenkinsURL,
    JenkinsAuthError,
    JenkinsError,
    JenkinsNotFound,
    JenkinsRefused,
    JenkinsServerError,
    JenkinsTimeout,
    JenkinsUnreachable,
    causes,
    explain_message,
    explain_transport,
    first_line,
)
from capomastro_changes.jenkins.values import (  # re-exported for callers
    PARAMETER_NAMES,
    Artifact,
    BuildInfo,
    BuildParameters,
    QueuedBuild,
    QueueItem,
    RunningBuild,
    build_from_json,
    parameters_of,
    queue_item_from_json,
)
from capomastro_changes.jenkins.view_calls import ListViewCalls
from capomastro_changes.redaction import redact_text

__all__ = [
    "PARAMETER_NAMES", "Artifact", "BuildInfo", "BuildParameters", "InvalidJenkinsURL",
    "JenkinsAuthError", "JenkinsClient", "JenkinsError", "JenkinsNotFound", "JenkinsRefused",
    "JenkinsServerError", "JenkinsTimeout", "JenkinsUnreachable", "QueueItem", "QueuedBuild",
    "RunningBuild", "build_from_json", "parameters_of", "queue_item_from_json",
]  # fmt: skip


CAUGHT = (  # what python-jenkins lets through
    jenkins.JenkinsException,
    requests.RequestException,
    ValueError,
    KeyError,
    TypeError,
)


def explain(exc: BaseException) -> tuple[type[JenkinsError], int | None, str]:
    """Which of our errors ``exc`` is, the HTTP status if any, and a short reason."""
    for link in causes(exc):
        if isinstance(link, jenkins.TimeoutException):
            return JenkinsTimeout, None, "no answer in time"
        found = explain_transport(link)
        if found:
            return found
    if isinstance(exc, jenkins.NotFoundException):
        return JenkinsNotFound, 404, "not found"
    text = first_line(str(exc))
    found = explain_message(text) if isinstance(exc, jenkins.JenkinsException) else None
    return found or (JenkinsServerError, None, f"unreadable answer ({type(exc).__name__}: {text})")


class JenkinsClient(ListViewCalls):
    """A Jenkins server, seen through python-jenkins.

    Args:
        url: the server's root URL; credentials in it are used, then stripped.
        username: the Jenkins user.
        api_token: that user's API token (or password).
        timeout: seconds to wait for any one answer.
    """

    def __init__(
        self,
        url: str,
        username: str | None = None,
        api_token: str | None = None,
        timeout: float = 30.0,
    ):
        self.server, url_user, url_token = split_credentials(url)
        self.username = username if username is not None else url_user
        api_token = api_token if api_token is not None else url_token
        self.timeout = timeout
        self._secrets = tuple(s for s in (api_token, url_token) if s)
        self._jenkins = jenkins.Jenkins(self.server, self.username, api_token, timeout=timeout)

    def __repr__(self) -> str:
        return f"<JenkinsClient {self.server} as {self.username or 'anonymous'}>"

    @contextmanager
    def _calling(self, action: str, job: str | None = None):
        """Translate whatever escapes python-jenkins while doing ``action``."""
        try:
            yield
        except CAUGHT as exc:
            raise self._error(exc, action, job) from None

    def check(self) -> str:
        """Log in and return the server's version (from the ``X-Jenkins`` header)."""
        with self._calling("checking the connection"):
            self._jenkins.get_whoami()
            return self._jenkins.get_version()

    def upsert_job(self, name: str, config_xml: str) -> bool:
        """Create the job from ``config_xml``, or replace the config of the existing one.

        Returns:
            True when the job was created, False when it was updated.
        """
        with self._calling("creating or updating", name):
            if self._jenkins.job_exists(name):
                self._jenkins.reconfig_job(name, config_xml)
                return False
            self._jenkins.create_job(name, config_xml)
            return True

    def job_config(self, name: str) -> str:
        """The job's config.xml, as Jenkins stores it."""
        with self._calling("reading the config of", name):
            return self._jenkins.get_job_config(name)

    def trigger(self, name: str, parameters: BuildParameters | Mapping[str, str]) -> QueuedBuild:
        """Ask Jenkins to build ``name`` with ``parameters``.

        An identical request still in the queue is "already queued", not an
        error: Jenkins 2.308+ answers it with a 303 to the existing item,
        which python-jenkins follows into a 404 and a NotFoundException.

        Raises:
            JenkinsNotFound: no such job.
            JenkinsRefused: the job is disabled (409) or takes no parameters (400).
        """
        values = parameters_of(parameters)
        with self._calling("triggering", name):
            try:
                queue_id = self._build_with_parameters(name, values)
            except jenkins.NotFoundException:
                return self._already_queued(name, values)
        return QueuedBuild(job=name, queue_id=queue_id, already_queued=False)

    def _build_with_parameters(self, name: str, values: dict[str, str]) -> int:
        """POST the parameters as a form body; the queue item from the ``Location`` answer.

        python-jenkins' ``build_job`` puts them in the query string, where
        Jenkins' access log, every proxy's and every load balancer's keep them:
        a probe's source credentials among them. Jenkins reads the parameters
        of ``buildWithParameters`` from the request's parameters, form body
        included (``ParametersDefinitionProperty._doBuildWithParameters`` reads
        ``req.getParameter``), so the request line carries the job's name only.
        """
        path = f"{job_path(name)}/{'buildWithParameters' if values else 'build'}"
        answer = self._jenkins.jenkins_request(
            requests.Request("POST", self._jenkins._build_url(path), data=values)
        )
        location = answer.headers.get("Location", "").rstrip("/")
        number = location.rsplit("/", 1)[-1]
        if "/queue/item/" not in location or not (number.isascii() and number.isdigit()):
            raise jenkins.EmptyResponseException(
                "Jenkins named no queue item (no Location header) for the build"
            )
        return int(number)

    def _already_queued(self, name: str, values: dict[str, str]) -> QueuedBuild:
        for item in self._jenkins.get_queue_info():
            if item.get("task", {}).get("name") == name:
                queued = queue_item_from_json(item)
                # Jenkins shows no password value: the item matches on the values it shows.
                shown = {k: v for k, v in values.items() if k in queued.parameters}
                if queued.parameters and dict(queued.parameters) == shown:
                    return QueuedBuild(job=name, queue_id=queued.queue_id, already_queued=True)
        if not self._jenkins.job_exists(name):
            raise JenkinsNotFound(
                f"Jenkins at {self.server}: job {name!r} does not exist",
                server=self.server,
                job=name,
                status=404,
            )
        # The duplicate left the queue between Jenkins' 303 and our look: it is building.
        return QueuedBuild(job=name, queue_id=None, already_queued=True)

    def find_by_parameter(
        self, name: str, parameter: str, value: str, recent: int = 10
    ) -> QueueItem | BuildInfo | None:
        """The queue item, or one of the ``recent`` builds, of ``name`` with that parameter.

        For a trigger whose answer was lost: did Jenkins take it after all?
        """
        with self._calling(f"looking for {parameter}={value} in", name):
            for item in self._jenkins.get_queue_info():
                queued = queue_item_from_json(item)
                if queued.job == name and queued.parameters.get(parameter) == value:
                    return queued
            if not self._jenkins.job_exists(name):
                return None  # never created: it cannot have been built
            builds = self._jenkins.get_job_info(name).get("builds") or []
            for entry in builds[:recent]:
                info = build_from_json(name, self._jenkins.get_build_info(name, entry["number"]))
                if info.parameters.get(parameter) == value:
                    return info
        return None

    def cancel_queued(self, queue_id: int) -> QueueItem:
        """Take a waiting item out of Jenkins' queue, and make sure it is out.

        python-jenkins swallows a 404 from ``cancelItem`` (old Jenkins answered
        every cancel so, JENKINS-21311), so an id Jenkins does not know would
        look cancelled. The item is read back: only an item Jenkins shows as
        cancelled was cancelled.

        Raises:
            JenkinsRefused: the item already left the queue (a 422), or it is
                not shown as cancelled (it became a build).
            JenkinsNotFound: Jenkins does not know the item (forgotten five
                minutes after it left the queue, or lost in a restart):
                nothing says it was cancelled.
        """
        with self._calling(f"cancelling queue item {queue_id} of"):
            self._jenkins.cancel_queue(int(queue_id))
        item = self.queue_item(queue_id)
        if not item.cancelled:
            became = f"; it became build #{item.build_number}" if item.build_number else ""
            raise JenkinsRefused(
                f"Jenkins at {self.server}: queue item {queue_id} of job {item.job!r} "
                f"was not cancelled{became}",
                server=self.server,
                job=item.job,
            )
        return item

    def queue_item(self, queue_id: int) -> QueueItem:
        """A queue item: still waiting (and why), cancelled, or the build it became."""
        with self._calling(f"reading queue item {queue_id}"):
            return queue_item_from_json(self._jenkins.get_queue_item(int(queue_id)))

    def build(self, name: str, number: int) -> BuildInfo:
        """A build: whether it runs, its result, parameters and artifacts."""
        with self._calling(f"reading build #{number} of", name):
            return build_from_json(name, self._jenkins.get_build_info(name, int(number)))

    def console(self, name: str, number: int) -> str:
        """The build's console text."""
        with self._calling(f"reading the console of build #{number} of", name):
            return self._jenkins.get_build_console_output(name, int(number))

    def stop_build(self, name: str, number: int) -> None:
        """Abort a running build."""
        with self._calling(f"stopping build #{number} of", name):
            self._jenkins.stop_build(name, int(number))

    def running_builds(self) -> tuple[RunningBuild, ...]:
        """Builds running on any node, as the executors report them."""
        with self._calling("listing running builds"):
            return tuple(
                RunningBuild(b["name"], int(b["number"]), b["url"], b["node"], int(b["executor"]))
                for b in self._jenkins.get_running_builds()
            )

    def set_description(self, name: str, number: int, description: str) -> None:
        """Set a build's description (python-jenkins has no call for it)."""
        with self._calling(f"describing build #{number} of", name):
            self._post(
                f"{job_path(name)}/{int(number)}/submitDescription", {"description": description}
            )

    def set_display_name(
        self, name: str, number: int, display_name: str, description: str | None = None
    ) -> None:
        """Set a build's display name, keeping its description unless one is given.

        Jenkins' ``configSubmit`` sets both at once and insists on both.
        """
        with self._calling(f"renaming build #{number} of", name):
            if description is None:
                info = self._jenkins.get_build_info(name, int(number))
                description = info.get("description") or ""
            form = {"json": json.dumps({"displayName": display_name, "description": description})}
            self._post(f"{job_path(name)}/{int(number)}/configSubmit", form)

    def _error(self, exc: BaseException, action: str, job: str | None) -> JenkinsError:
        """Our error for ``exc``, its message naming server and job, secrets redacted."""
        kind, status, reason = explain(exc)
        if kind is JenkinsTimeout:
            reason = f"no answer within {self.timeout:g} s"
        elif kind is JenkinsUnreachable:
            reason = f"unreachable ({reason})"
        elif status is not None and not reason.startswith(f"HTTP {status}"):
            reason = f"HTTP {status}: {reason}"
        subject = f" job {job!r}" if job else ""
        message = redact_text(
            f"Jenkins at {self.server}, {action}{subject}: {reason}", known=self._secrets
        )
        return kind(message, server=self.server, job=job, status=status)

    def _post(self, path: str, form: dict[str, str]) -> None:
        # Through python-jenkins' own request method, so its auth and crumb are kept.
        url = self._jenkins._build_url(path)
        self._jenkins.jenkins_open(requests.Request("POST", url, data=form))


def client_for(server) -> JenkinsClient:
    """A client for ``server`` (a JenkinsServer row, or anything with its three fields)."""
    return JenkinsClient(
        server.url,
        username=server.username or None,
        api_token=server.api_token or None,
        timeout=float(settings.JENKINS_TIMEOUT),
    )
