"""Credentials made fit to show: the one redactor for URLs and free text.

Every surface that shows a URL or a message that may quote one (admin pages,
the status JSON, the terminal, log lines, errors, Jenkins descriptions) passes
it through here last, so the guard is the same everywhere. A URL's whole
userinfo is a credential: ``user:password@``, but also a token given as the
user name alone (``https://ghp_…@github.com/…``, as GitHub, GitLab and
Bitbucket take it), so all of it becomes ``***``. So do the values of query
parameters that carry secrets (``?token=``, ``?access_token=``, ``?secret=``…).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MASK = "***"
SECRET_PARAMETERS = (
    "secret",
    "token",
    "access_token",
    "private_token",
    "api_token",
    "apikey",
    "api_key",
    "password",
    "passwd",
    "auth",
)
# scheme://userinfo@host: the userinfo runs to the last "@" of the authority.
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://)[^\s/?#]*@", re.IGNORECASE)
_SECRET_QUERY = re.compile(
    r"(?P<head>[?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&#\s\"'<>]*", re.IGNORECASE
)


def redact_text(text: str | None, known: Iterable[str] = ()) -> str:
    """``text`` with every credential in it masked ("" for None).

    Args:
        text: free text: a message, a log line, a request line, a URL.
        known: secret values to mask wherever they appear (a server's token).
    """
    shown = _SECRET_QUERY.sub(rf"\g<head>{MASK}", _USERINFO.sub(rf"\g<head>{MASK}@", text or ""))
    for secret in known:
        if secret:
            shown = shown.replace(secret, MASK)
    return shown


def redact_query(query: str) -> str:
    """A URL's query string (without its ``?``) with the values of secret parameters masked."""
    return _SECRET_QUERY.sub(rf"\g<head>{MASK}", "?" + query)[1:] if query else ""


def redact_url(url: str) -> str:
    """``url`` with its userinfo and secret query values masked; fit for any page or log.

    A URL too broken to parse shows only its scheme, since where its
    credentials end cannot be told.
    """
    if "://" in url:
        try:
            urlsplit(url).port  # noqa: B018 (parsing it is the check)
        except ValueError:
            return url.split("://", 1)[0] + "://<unparsable address>"
    return redact_text(url)
