"""Talking to the server: the build's token in a header, archives streamed both ways.

Only the standard library (``urllib``), as the builder has nothing else. The
token is sent as ``Authorization: Bearer``, never in a URL, and no message
made here ever holds it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

from bygmester_hooks import bounds
from capomastro_changes.redaction import redact_url

TIMEOUT = 120
CHUNK = 1 << 20
MAX_ANSWER = 1 << 16


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the build's token to."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class TransferError(Exception):
    """The server could not be asked, or said no; the message is one line, token-free."""


class Missing(TransferError):
    """The server has nothing for what was asked."""


class Server:
    """The ephemera endpoints of one capomastro-changes server, for one build's token."""

    def __init__(self, base_url: str, token: str):
        self.base = base_url.rstrip("/") + "/"
        self.token = token

    def _open(self, method: str, path: str, query: dict | None = None, body=None, headers=None):
        url = self.base + path + (f"?{urlencode(query)}" if query else "")
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            return _OPENER.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            with exc:
                said = _error_of(exc.read(MAX_ANSWER)) or exc.reason
            if 300 <= exc.code < 400:  # the token would go wherever it points: never followed
                where = exc.headers.get("Location", "?")
                raise TransferError(
                    f"the server answered {exc.code}, a redirect to {redact_url(where)}; not "
                    "followed (set EPHEMERA_URL to the address it serves at)"
                ) from None
            if exc.code == 404:
                raise Missing(said) from None
            raise TransferError(f"the server answered {exc.code}: {said}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TransferError(f"cannot reach {self.base}: {reason}") from None

    def find(self, name: str, key: str, fallback: bool) -> dict:
        """The newest archive the build may restore for (name, key).

        Raises:
            Missing: none.
        """
        query = {"key": key, "fallback": "1" if fallback else "0"}
        with self._open("GET", f"sets/{quote(name)}/", query) as answer:
            return _json(answer.read(MAX_ANSWER))

    def download(self, archive_id: int) -> Iterator[bytes]:
        """The archive's bytes, in chunks as they arrive."""
        answer = self._open("GET", f"archives/{int(archive_id)}/")
        with answer:
            while chunk := answer.read(CHUNK):
                yield chunk

    def report(self, archive_id: int, ok: bool, why: str = "") -> None:
        """Tell the server whether the archive was restored or refused (best effort)."""
        body = json.dumps({"ok": ok, "why": why[:500]}).encode()
        try:
            with self._open(
                "POST", f"archives/{int(archive_id)}/restored/", body=body,
                headers={"Content-Type": "application/json"},
            ):  # fmt: skip
                pass
        except TransferError:
            pass

    def upload(self, name: str, key: str, archive: Path, headers: dict[str, str]) -> dict:
        """Send an archive, streamed from its file; the server's record of it."""
        size = archive.stat().st_size
        with open(archive, "rb") as body:
            all_headers = {
                "Content-Type": "application/gzip",
                "Content-Length": str(size),
                **headers,
            }
            with self._open("POST", f"sets/{quote(name)}/", {"key": key}, body, all_headers) as a:
                return _json(a.read(MAX_ANSWER))


def _json(data: bytes) -> dict:
    try:
        value = bounds.loads(data)
    except ValueError as exc:
        raise TransferError("the server's answer is not JSON") from exc
    if not isinstance(value, dict):
        raise TransferError("the server's answer is not a JSON object")
    return value


def _error_of(data: bytes) -> str:
    try:
        value = bounds.loads(data)
    except ValueError:
        return ""
    error = value.get("error") if isinstance(value, dict) else None
    return str(error)[:300] if error else ""
