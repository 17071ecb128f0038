"""Where things are on a Jenkins server: its bare URL and credentials, a job's path."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

from capomastro_changes.jenkins.errors import InvalidJenkinsURL


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Split ``http://user:token@host/`` into the bare URL (trailing ``/``), user and token.

    Raises:
        InvalidJenkinsURL: not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
        raise InvalidJenkinsURL(f"{shown!r} is not an http(s) URL", server=shown)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    bare = urlunsplit((parts.scheme, host, path, "", ""))
    user = unquote(parts.username) if parts.username else None
    token = unquote(parts.password) if parts.password else None
    return bare, user, token


def job_path(name: str) -> str:
    """The URL path of a job, folders included (``a/b`` is ``job/a/job/b``)."""
    return "job/" + "/job/".join(quote(part, safe="") for part in name.split("/"))
