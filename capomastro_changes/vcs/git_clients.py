"""dulwich clients held to one read's limits: ``git://`` and smart HTTP (ssh: :mod:`.git_ssh`).

dulwich's own clients have no deadline for a whole read, follow HTTP
redirects wherever they lead, and let urllib3's exceptions through. These
subclasses read within the :class:`~capomastro_changes.vcs.limits.Budget`,
re-check the URL policy for every redirect, and :func:`explain` turns any
transport failure into a :class:`~capomastro_changes.vcs.errors.ReadError`
that names the source and the cause in one line.
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterable
from urllib.parse import urljoin

import urllib3
from dulwich.client import HangupException, TCPGitClient, Urllib3HttpGitClient
from dulwich.protocol import Protocol

from capomastro_changes.redaction import redact_text, redact_url
from capomastro_changes.vcs import urls
from capomastro_changes.vcs.errors import MissingError, PolicyError, ReadError
from capomastro_changes.vcs.git_ssh import SSHClient
from capomastro_changes.vcs.identity import origin
from capomastro_changes.vcs.limits import Budget, SocketStream

MAX_REDIRECTS = 3
# What a transport error says when the repository is not there.
_MISSING_HINTS = (
    "not found",
    "no such repository",
    "does not appear to be a git repository",
    "not exported",
)
_POOL_PREFIX = re.compile(r"^\w*ConnectionPool\([^)]*\): ")
# Headers that prove who the caller is: never sent on to another origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def client_for(
    location: urls.Location, budget: Budget, opened: list, allowed_schemes: Iterable[str]
) -> tuple[object, bytes]:
    """A dulwich client for the location and the path to ask it for.

    Whatever the client opens is added to ``opened``, for the caller to close.
    """
    path = location.path.encode()
    if location.scheme == "git":
        return TcpClient(location.host, location.port, budget, opened), path
    if location.scheme == "ssh":
        return SSHClient(location, budget, opened), path
    client = HttpClient(location, budget, allowed_schemes)
    opened.append(client)
    return client, b""


def explain(exc: BaseException, budget: Budget) -> ReadError:
    """Turn a transport failure into one line that names the source and the cause."""
    exc = _unwrap(exc)
    text = _first_line(exc)
    lowered = text.lower()
    if budget.expired() or isinstance(exc, TimeoutError) or "timed out" in lowered:
        return budget.timed_out()
    if any(hint in lowered for hint in _MISSING_HINTS):
        return MissingError(budget.source, text)
    if isinstance(exc, socket.gaierror | urllib3.exceptions.NameResolutionError):
        return ReadError(budget.source, "unknown host")
    if isinstance(exc, ConnectionRefusedError) or "connection refused" in lowered:
        return ReadError(budget.source, "connection refused")
    if isinstance(exc, urllib3.exceptions.ProtocolError | http.client.HTTPException):
        return ReadError(budget.source, "the connection broke off before the answer was complete")
    if isinstance(exc, urllib3.exceptions.SSLError):
        return ReadError(budget.source, f"TLS failed: {text}")
    return ReadError(budget.source, text)


def _unwrap(exc: BaseException) -> BaseException:
    """The failure under dulwich's and urllib3's wrappers, which only add noise."""
    for _ in range(5):
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            exc = exc.reason
        elif isinstance(exc.__cause__, urllib3.exceptions.HTTPError | OSError):
            exc = exc.__cause__
        else:
            break
    return exc


def _first_line(exc: BaseException) -> str:
    """The exception's first line, credentials scrubbed, urllib3's pool prefix dropped."""
    text = str(exc).strip()
    if isinstance(exc, HangupException):
        text = text or "the server hung up without answering"
    line = text.splitlines()[0] if text else type(exc).__name__
    return redact_text(_POOL_PREFIX.sub("", line))[:300]


class TcpClient(TCPGitClient):
    """git:// with a connect and read deadline (dulwich's own has none)."""

    def __init__(self, host: str, port: int | None, budget: Budget, opened: list) -> None:
        super().__init__(host, port)
        self._budget = budget
        self._opened = opened

    def _connect(self, cmd, path, protocol_version=None):
        try:
            sock = socket.create_connection(
                (self._host, self._port), timeout=self._budget.remaining()
            )
        except TimeoutError:
            raise self._budget.timed_out() from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = SocketStream(sock, self._budget)
        proto = Protocol(stream.read, stream.write, stream.close)
        self._opened.append(proto)
        self.protocol_version = 2 if protocol_version is None else protocol_version
        extra = b"host=" + self._host.encode("idna")
        if cmd == b"upload-pack" and self.protocol_version == 2:
            # After two NULs, so that servers without v2 skip it.
            extra += b"\0\0version=2\0"
        proto.send_cmd(b"git-" + cmd, path, extra)
        return proto, stream.can_read, None


class HttpClient(Urllib3HttpGitClient):
    """Smart HTTP with a deadline, a size cap, policed redirects and no dumb HTTP."""

    def __init__(self, location: urls.Location, budget: Budget, allowed_schemes) -> None:
        super().__init__(
            location.display,
            username=location.username,
            password=location.password,
            timeout=budget.timeout,
        )
        self._budget = budget
        self.pool_manager = PolicedRequests(self.pool_manager, budget, allowed_schemes)

    def _http_request(self, url, headers=None, data=None, raise_for_status=True):
        left = self._budget.remaining()
        self._timeout = urllib3.Timeout(connect=left, read=left)
        resp, read = super()._http_request(url, headers, data, raise_for_status)
        if self._budget.expired():  # headers cut short by the deadline: not an answer
            resp.close()
            raise self._budget.timed_out()
        content_type = resp.headers.get("Content-Type") or "no content type"
        if not content_type.startswith("application/x-git-"):
            resp.close()
            reason = f"not a git smart-HTTP server (it answered with {content_type})"
            raise ReadError(self._budget.source, reason)
        return resp, self._budget.bounded(read)

    def close(self) -> None:
        """Close the pooled connections."""
        self.pool_manager.clear()


class PolicedRequests:
    """A pool manager that asks once and follows redirects itself, checking each.

    urllib3 would follow a redirect to any http(s) URL; here the target must
    pass the URL policy (a scheme this deployment allows), and credentials are
    sent on only to the origin they were given for. No retries: a retried hang
    would outlive the deadline.
    """

    def __init__(self, manager, budget: Budget, allowed_schemes: Iterable[str]) -> None:
        self._manager = manager
        self._budget = budget
        self._allowed = tuple(allowed_schemes)
        self.headers = manager.headers
        self._retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0)

    def request(self, method: str, url: str, **kwargs):
        """Make the request, following at most :data:`MAX_REDIRECTS` allowed redirects."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._manager.request(
                method, url, retries=self._retries, redirect=False, **kwargs
            )
            target = response.get_redirect_location()
            if not target:
                response.url = url  # where dulwich takes the next request's base from
                return response
            response.close()  # not drained: a redirect's body could be endless
            response.release_conn()
            if response.status == 303:
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k != "body"}
            url, kwargs = self._redirect(url, urljoin(url, target), kwargs)
        raise ReadError(self._budget.source, f"more than {MAX_REDIRECTS} redirects")

    def _redirect(self, url: str, target: str, kwargs: dict) -> tuple[str, dict]:
        """The checked target, and the request's arguments for it.

        Raises:
            PolicyError: The target is refused; it is not contacted.
        """
        shown = redact_url(target)
        try:
            location = urls.check("git", target, "", self._allowed)
        except PolicyError as exc:
            raise PolicyError(self._budget.source, f"redirected to {exc}") from None
        if location.scheme not in ("http", "https"):
            reason = f"redirected to {shown}: only http(s) redirects are followed"
            raise PolicyError(self._budget.source, reason)
        if origin(target) != origin(url):
            headers = kwargs.get("headers") or {}
            kept = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            kwargs = {**kwargs, "headers": kept}
        return target, kwargs

    def clear(self) -> None:
        """Close the pooled connections."""
        self._manager.clear()
