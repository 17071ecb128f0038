"""Our errors for everything that can go wrong talking to Jenkins.

Each message names the server and the job and never a secret, so it can be
logged, recorded on a request and shown in the admin as it is. Kept apart
from the client so that code which only handles errors needs no python-jenkins.
"""

from __future__ import annotations


class JenkinsError(Exception):
    """Something went wrong talking to Jenkins; the message is safe to log and show.

    Attributes:
        server: the server's URL, credentials stripped.
        job: the job concerned, if any.
        status: the HTTP status Jenkins answered, if it answered.
    """

    def __init__(self, message: str, *, server: str, job: str | None = None, status=None):
        super().__init__(message)
        self.server, self.job, self.status = server, job, status


class InvalidJenkinsURL(JenkinsError, ValueError):
    """The configured server URL is not an http(s) URL."""


class JenkinsUnreachable(JenkinsError):
    """No answer: connection refused or reset, DNS failure. Try again later."""


class JenkinsTimeout(JenkinsUnreachable):
    """Jenkins took longer than the client's timeout to answer."""


class JenkinsAuthError(JenkinsError):
    """401/403: wrong user or token, missing permission, or a refused crumb."""


class JenkinsNotFound(JenkinsError):
    """404: no such job, build or queue item."""


class JenkinsRefused(JenkinsError):
    """Jenkins understood and said no: a disabled job's 409, a 400, a 422."""


class JenkinsServerError(JenkinsError):
    """Jenkins failed (5xx) or answered something that cannot be read."""
