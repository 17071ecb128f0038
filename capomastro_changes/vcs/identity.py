"""What makes two source URLs the same repository, so dependencies share one source.

Pure functions: the key of a (VCS, URL, branch) triple is what the database
keeps unique. The same loose rules match push notifications to sources.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from capomastro_changes.redaction import redact_query

_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418, "bzr": 4155}


def url_key(url: str) -> str:
    """A comparable form of ``url``: scheme and host lowercased, no default port,
    no credentials (in the userinfo or the query), no trailing ``/`` or ``.git``.

    scp-like git URLs (``user@host:path``) become ``ssh://host/path``.
    """
    url = url.strip()
    if "://" not in url and ":" in url and not url.startswith("/") and "@" in url.split(":")[0]:
        host, _, path = url.partition(":")
        url = f"ssh://{host}/{path.lstrip('/')}"
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        path = parts.path if parts.scheme == "file" else url
        return _strip_tail(path if parts.scheme != "file" else "file://" + path)
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{parts.port}"
    query = redact_query(parts.query)  # a token in the query is a credential, not identity
    return _strip_tail(urlunsplit((parts.scheme.lower(), host, parts.path, query, "")))


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url``, the default port filled in: where a credential goes.

    A credential given for one origin is never sent to another (a redirect,
    an edited server address). A port that cannot be read counts as none.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def loose_url_key(url: str) -> str:
    """Like :func:`url_key`, but blind to the scheme, as push endpoints must be."""
    key = url_key(url)
    return key.split("://", 1)[1] if "://" in key else key


def branch_key(branch: str) -> str:
    """A branch name without its ``refs/heads/`` prefix; empty means the default branch."""
    branch = branch.strip()
    return branch[len("refs/heads/") :] if branch.startswith("refs/heads/") else branch


def _strip_tail(value: str) -> str:
    value = value.rstrip("/")
    if value.endswith(".git"):
        value = value[: -len(".git")]
    return value.rstrip("/")
