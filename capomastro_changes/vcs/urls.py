"""The URL policy: which sources a probe may read, checked before any traffic.

A source URL and branch come from the admin, so they are untrusted input that
ends up on a command line (``ssh``) or in a transport lookup (breezy). The
policy refuses option-like values (leading ``-``), remote-helper syntax
(``ext::``), control characters and schemes not explicitly allowed. The
allowed schemes are a parameter: Django settings are read by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from capomastro_changes.redaction import redact_url
from capomastro_changes.vcs.errors import PolicyError

# What each reader can speak; the allowed set is narrowed further by the caller.
SUPPORTED_SCHEMES = {
    "git": frozenset({"file", "git", "http", "https", "ssh", "git+ssh", "ssh+git"}),
    "bzr": frozenset({"file", "bzr", "bzr+ssh", "http", "https"}),
}
# Everything but ``file``: local paths are for tests and the demo.
DEFAULT_ALLOWED_SCHEMES = ("https", "http", "ssh", "git", "bzr", "bzr+ssh", "git+ssh")

_HELPER_SYNTAX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>.*)$")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
_BAD_REF = re.compile(r"\.\.|@\{|[~^:?*\[\\]|//|/\.|^\.|\.lock$|/$|\.$")


@dataclass(frozen=True)
class Location:
    """A source URL that passed the policy, split for the readers.

    Attributes:
        scheme: ``file``, ``git``, ``http``, ``https``, ``ssh``, ``bzr`` or
            ``bzr+ssh`` (``git+ssh`` and scp-like addresses become ``ssh``).
        url: The URL as given (with any credentials: for the transport only).
        display: The URL with its credentials masked: what messages show.
        host: The server's host name ("" for ``file``).
        port: The server's port, if given.
        username: The user name from the URL, if any.
        password: The password from the URL, if any.
        path: The local path (``file``) or the path on the server.
    """

    scheme: str
    url: str
    display: str
    host: str = ""
    port: int | None = None
    username: str | None = None
    password: str | None = None
    path: str = ""


def without_userinfo(url: str) -> str:
    """``url`` with its userinfo taken off, for a transport that is given it apart.

    Not a redactor (that is :func:`capomastro_changes.redaction.redact_url`):
    :func:`userinfo` gives back what this takes away, so the two put back
    together give ``url`` again.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("://", 1)[0] + "://<unparsable address>"
    if "@" not in parts.netloc:
        return url
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{port}" if port else host
    return parts._replace(netloc=netloc).geturl()


def userinfo(url: str) -> str:
    """The ``user:password`` part of ``url`` as written (still percent-encoded), or "".

    What :func:`without_userinfo` takes away, read the same way, so the two put back
    together give ``url`` again.
    """
    if "://" not in url:
        return ""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rpartition("@")[0]


def check(vcs: str, url: str, branch: str, allowed_schemes: Iterable[str]) -> Location:
    """Check a source against the policy and split its URL.

    Args:
        vcs: ``"git"`` or ``"bzr"``.
        url: The source URL or absolute local path.
        branch: The branch, ref or sub-path (may be empty).
        allowed_schemes: The schemes this deployment allows (``file`` covers
            absolute local paths too).

    Returns:
        The parsed location.

    Raises:
        PolicyError: The source is refused; nothing was contacted.
    """
    shown = redact_url(url)
    if vcs not in SUPPORTED_SCHEMES:
        raise PolicyError(shown, f"unknown version control system {vcs!r}")
    if _HELPER_SYNTAX.match(url):
        raise PolicyError(shown, "remote-helper syntax ('transport::address') is not allowed")
    _check_text(shown, url, "URL")
    location = _parse(shown, url)
    if location.scheme not in SUPPORTED_SCHEMES[vcs]:
        raise PolicyError(shown, f"the {location.scheme!r} scheme cannot be read for {vcs}")
    allowed = set(allowed_schemes)
    if location.scheme not in allowed and _alias(location.scheme) not in allowed:
        raise PolicyError(shown, f"the {location.scheme!r} scheme is not allowed here")
    check_branch(vcs, branch, shown)
    return location


def check_branch(vcs: str, branch: str, shown: str) -> None:
    """Refuse a branch that could be taken for an option or escape its repository."""
    if not branch:
        return
    _check_text(shown, branch, "branch")
    if vcs == "git" and branch != "HEAD" and _BAD_REF.search(branch):
        raise PolicyError(shown, f"{branch!r} is not a valid git branch or ref name")
    if vcs == "bzr":
        parts = branch.split("/")
        if branch.startswith("/") or ".." in parts or any(c in branch for c in ":,\\"):
            raise PolicyError(shown, f"{branch!r} is not a relative bzr branch path")


def _check_text(shown: str, value: str, what: str) -> None:
    if not value:
        raise PolicyError(shown or "<empty>", f"the {what} is empty")
    if value.startswith("-"):
        raise PolicyError(shown, f"a {what} may not start with '-'")
    if _BAD_CHARS.search(value) or _BAD_CHARS.search(unquote(value)):
        raise PolicyError(shown, f"the {what} contains spaces or control characters")


def _alias(scheme: str) -> str:
    return {"ssh": "git+ssh", "git+ssh": "ssh"}.get(scheme, scheme)


def _parse(shown: str, url: str) -> Location:
    if url.startswith("/"):
        return Location("file", url, shown, path=url)
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if not match:
            raise PolicyError(shown, "not a URL or an absolute path")
        user, host, path = match.group("user"), match.group("host"), match.group("path")
        if host.startswith("-") or path.startswith("-"):
            raise PolicyError(shown, "a host or path may not start with '-'")
        return Location("ssh", url, shown, host=host, username=user, path=path)
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname or "", parts.port
    except ValueError as exc:
        raise PolicyError(shown, f"unparsable URL ({exc})") from None
    path = unquote(parts.path)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise PolicyError(shown, "file URLs must name a local path")
        return Location("file", url, shown, path=path)
    if not host or host.startswith("-") or (parts.username or "").startswith("-"):
        raise PolicyError(shown, "the URL has no valid host name")
    if scheme in ("git+ssh", "ssh+git"):
        scheme = "ssh"
    return Location(
        scheme,
        url,
        shown,
        host,
        port,
        unquote(parts.username or "") or None,
        unquote(parts.password) if parts.password is not None else None,
        path,
    )
