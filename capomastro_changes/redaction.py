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
from urllib.parse import unquote, urlsplit

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
# Any parameter or key whose name says it holds a credential (client_secret, refresh_token,
# X-Amz-Signature, sessionid, passwd...): over-masking a harmless one costs nothing.
_SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|sig|auth|cred|session|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|^key$|^sas$|" + "|".join(SECRET_PARAMETERS),
    re.IGNORECASE,
)
# scheme://userinfo@host: the userinfo runs to the last "@" of the authority.
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://)[^\s/?#]*@", re.IGNORECASE)
# The same, percent-encoded inside another URL's query (url=https%3A%2F%2Fghp_x%40host).
_ENCODED_USERINFO = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*%3A%2F%2F)(?:(?!%2F)[^\s&#/?])*%40", re.IGNORECASE
)
# name=value in a query; the name is judged percent-decoded (?%74oken= is ?token=).
# A value ends at "&", ";" (the older separator) or "#"; "=" may be written %3D.
_QUERY_PAIR = re.compile(
    r"(?P<head>[?&;](?P<name>[^=&#\s\"'<>?;]+?)(?:=|%3D))[^&#;\s\"'<>]*", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether a parameter or key named ``name`` (percent-decoded) holds a credential."""
    return bool(_SECRET_NAME.search(unquote(name)))


def _mask_pair(match: re.Match) -> str:
    return f"{match['head']}{MASK}" if is_secret_name(match["name"]) else match.group(0)


def redact_text(text: str | None, known: Iterable[str] = ()) -> str:
    """``text`` with every credential in it masked ("" for None).

    Args:
        text: free text: a message, a log line, a request line, a URL.
        known: secret values to mask wherever they appear (a server's token).
    """
    shown = _USERINFO.sub(rf"\g<head>{MASK}@", text or "")
    shown = _ENCODED_USERINFO.sub(rf"\g<head>{MASK}%40", shown)
    shown = _QUERY_PAIR.sub(_mask_pair, shown)
    for secret in known:
        if secret:
            shown = shown.replace(secret, MASK)
    return shown


def redact_query(query: str) -> str:
    """A URL's query string (without its ``?``) with the values of secret parameters masked."""
    return _QUERY_PAIR.sub(_mask_pair, "?" + query)[1:] if query else ""


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` for one log line: control characters escaped (``\\n``), so text a client
    chose (a path, a header) can never start a line of its own that looks like ours."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def redact_parameters(parameters) -> str:
    """Parameters (a mapping, or ``KEY=VALUE`` lines) fit to show: secret-named values masked."""
    if isinstance(parameters, dict):
        pairs = [(str(k), str(v)) for k, v in parameters.items()]
    else:
        pairs = [tuple(line.split("=", 1)) + ("",) for line in str(parameters or "").splitlines()]
        pairs = [(p[0].strip(), p[1].strip()) for p in pairs if p[0].strip()]
    return "\n".join(f"{k}={MASK if is_secret_name(k) else redact_text(v)}" for k, v in pairs)
