"""How a python-jenkins call failed, as one of our error types and a short reason.

python-jenkins lets its own exceptions, raw ``requests`` errors and unreadable
JSON through; :func:`explain` reads the chain of causes (a timeout, a refused
connection, an HTTP status, a known message) so the client can raise the one
type from :mod:`capomastro_changes.jenkins_errors` that says what happened.
"""

from __future__ import annotations

import re

import jenkins
import requests

from capomastro_changes.jenkins_errors import (
    JenkinsAuthError,
    JenkinsError,
    JenkinsNotFound,
    JenkinsRefused,
    JenkinsServerError,
    JenkinsTimeout,
    JenkinsUnreachable,
)

CAUGHT = (  # what python-jenkins lets through
    jenkins.JenkinsException,
    requests.RequestException,
    ValueError,
    KeyError,
    TypeError,
)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_STATUS = re.compile(r"\[(\d{3})\]")
USERINFO = re.compile(r"//[^/@\s]+@")
_TAGS = re.compile(r"<[^>]*>")


def _chain(exc: BaseException):
    """The exception and everything it was raised while handling."""
    while exc is not None:
        yield exc
        exc = exc.__context__ or exc.__cause__


def _first_line(text: str) -> str:
    for line in _TAGS.sub(" ", text or "").splitlines():
        if line.strip():
            return " ".join(line.split())[:200]
    return ""


def explain(exc: BaseException) -> tuple[type[JenkinsError], int | None, str]:
    """Which of our errors ``exc`` is, the HTTP status if any, and a short reason."""
    for link in _chain(exc):
        if isinstance(link, jenkins.TimeoutException | requests.Timeout):
            return JenkinsTimeout, None, "no answer in time"
        if isinstance(link, requests.ConnectionError):
            match = _ERRNO.search(str(link))
            return JenkinsUnreachable, None, (match.group(1) if match else type(link).__name__)
        if isinstance(link, requests.HTTPError) and link.response is not None:
            response = link.response
            detail = _first_line(response.text) or response.reason or ""
            return _by_status(response.status_code), response.status_code, detail
    if isinstance(exc, jenkins.NotFoundException):
        return JenkinsNotFound, 404, "not found"
    text = _first_line(str(exc))
    if isinstance(exc, jenkins.JenkinsException):
        match = _STATUS.search(text)
        if match:
            return _by_status(int(match.group(1))), int(match.group(1)), text
        if "does not exist" in text:
            return JenkinsNotFound, None, text
        if "Unable to authenticate" in text:
            return JenkinsAuthError, None, "authentication failed"
        if "already exists" in text:
            return JenkinsRefused, None, text
    return JenkinsServerError, None, f"unreadable answer ({type(exc).__name__}: {text})"


def _by_status(status: int) -> type[JenkinsError]:
    if status in (401, 403):
        return JenkinsAuthError
    if status == 404:
        return JenkinsNotFound
    if 400 <= status < 500:
        return JenkinsRefused
    return JenkinsServerError
