"""Our errors for everything that can go wrong talking to Jenkins, and how a failure reads.

Each message names the server and the job and never a secret, so it can be
logged, recorded on a request and shown in the admin as it is. python-jenkins
lets its own exceptions, raw ``requests`` errors and unreadable JSON through;
the client (:mod:`.client`, the one module that imports python-jenkins) walks
the chain of causes, and the functions here read what needs no python-jenkins:
a ``requests`` timeout, a refused connection, an HTTP status, a known message.
Code that only handles errors needs no python-jenkins.
"""

from __future__ import annotations

import re

import requests


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


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_STATUS = re.compile(r"\[(\d{3})\]")
_TAGS = re.compile(r"<[^>]*>")


def causes(exc: BaseException):
    """The exception and everything it was raised while handling."""
    while exc is not None:
        yield exc
        exc = exc.__context__ or exc.__cause__


def first_line(text: str) -> str:
    """The first line of text in ``text``, HTML tags taken out, at most 200 characters."""
    for line in _TAGS.sub(" ", text or "").splitlines():
        if line.strip():
            return " ".join(line.split())[:200]
    return ""


def explain_transport(link: BaseException) -> tuple[type[JenkinsError], int | None, str] | None:
    """Our error for a ``requests`` failure (timeout, connection, HTTP status), else None."""
    if isinstance(link, requests.Timeout):
        return JenkinsTimeout, None, "no answer in time"
    if isinstance(link, requests.ConnectionError):
        match = _ERRNO.search(str(link))
        return JenkinsUnreachable, None, (match.group(1) if match else type(link).__name__)
    if isinstance(link, requests.HTTPError) and link.response is not None:
        response = link.response
        detail = first_line(response.text) or response.reason or ""
        return by_status(response.status_code), response.status_code, detail
    return None


def explain_message(text: str) -> tuple[type[JenkinsError], int | None, str] | None:
    """Our error for the message of a python-jenkins exception, else None."""
    match = _STATUS.search(text)
    if match:
        return by_status(int(match.group(1))), int(match.group(1)), text
    if "does not exist" in text:
        return JenkinsNotFound, None, text
    if "Unable to authenticate" in text:
        return JenkinsAuthError, None, "authentication failed"
    if "already exists" in text:
        return JenkinsRefused, None, text
    return None


def by_status(status: int) -> type[JenkinsError]:
    """Our error for an HTTP status."""
    if status in (401, 403):
        return JenkinsAuthError
    if status == 404:
        return JenkinsNotFound
    if 400 <= status < 500:
        return JenkinsRefused
    return JenkinsServerError
