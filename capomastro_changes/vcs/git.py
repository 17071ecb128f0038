"""Read the tip of a git branch with dulwich: no clone, no fetch.

Remote reads are the equivalent of ``git ls-remote URL REF``: one ref
advertisement, asked for with protocol v2 and a ref prefix, so that a
repository with 100,000 refs costs no more than one with ten. Local
repositories are read in place, and since their history is at hand the reader
also says whether the tip descends from the last known revision.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterable

from dulwich.client import (
    HangupException,
    SSHGitClient,
    SSHVendor,
    TCPGitClient,
    Urllib3HttpGitClient,
)
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.graph import can_fast_forward
from dulwich.protocol import Protocol
from dulwich.repo import Repo

from capomastro_changes.revisions import Reading, Revision
from capomastro_changes.vcs import urls
from capomastro_changes.vcs.errors import MissingError, ReadError
from capomastro_changes.vcs.limits import Budget, PipeStream, SocketStream

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_MISSING_HINTS = (
    "not found",
    "no such repository",
    "does not appear to be a git repository",
    "not exported",
)


def read_head(
    url: str,
    branch: str = "",
    *,
    last: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allowed_schemes: Iterable[str] = urls.DEFAULT_ALLOWED_SCHEMES,
) -> Reading:
    """Read the commit a branch, ref, tag or the remote HEAD points at.

    Args:
        url: The repository: an absolute path, ``file://``, ``git://``,
            ``http(s)://`` (smart HTTP), ``ssh://`` or ``user@host:path``.
        branch: A branch name (``refs/heads/`` then ``refs/tags/`` is tried),
            a full ref, or "" / ``HEAD`` for the remote HEAD. Tags are peeled.
        last: Last known commit ids; for a local repository the answer says
            which of them the tip descends from.
        timeout: Seconds the whole read may take.
        max_bytes: Largest ref advertisement accepted.
        allowed_schemes: Schemes the URL policy lets through.

    Returns:
        The tip, the ref it was read from and, where history was at hand, the
        ancestry of each ``last`` id.

    Raises:
        ReadError: The tip could not be read (MissingError when the repository
            or branch does not exist, PolicyError when the URL was refused).
    """
    location = urls.check("git", url, branch, allowed_schemes)
    if location.scheme == "file":
        return _read_local(location, branch, tuple(last))
    budget = Budget(location.display, timeout, max_bytes)
    opened: list = []
    client, path = _client(location, budget, opened)
    try:
        result = client.get_refs(path, protocol_version=2, ref_prefix=_candidates(branch))
    except ReadError:
        raise
    except NotGitRepository:
        raise MissingError(location.display, "no git repository at this URL") from None
    except (GitProtocolError, OSError, ValueError) as exc:
        raise _explain(exc, budget) from None
    finally:
        for connection in opened:
            connection.close()
    return _pick(location.display, branch, result.refs)


def _candidates(branch: str) -> list[bytes]:
    """The refs a branch name may mean, in the order they are tried."""
    if branch in ("", "HEAD"):
        return [b"HEAD"]
    if branch.startswith("refs/"):
        return [branch.encode()]
    return [b"refs/heads/" + branch.encode(), b"refs/tags/" + branch.encode()]


def _pick(shown: str, branch: str, refs: dict) -> Reading:
    for name in _candidates(branch):
        commit = refs.get(name + b"^{}") or refs.get(name)
        if commit:
            return Reading(Revision(commit.decode("ascii")), name.decode())
    if branch in ("", "HEAD"):
        raise MissingError(shown, "the repository is empty (HEAD has no commit)")
    raise MissingError(shown, f"no branch, ref or tag named {branch!r}")


def _read_local(location: urls.Location, branch: str, last: tuple[str, ...]) -> Reading:
    try:
        repo = Repo(location.path)
    except (NotGitRepository, OSError):
        raise MissingError(location.display, "no git repository at this path") from None
    with repo:
        for name in _candidates(branch):
            try:
                commit = repo.object_store.peel(repo.refs[name])[1].id
            except KeyError:
                continue
            ancestry = tuple((old, _descends(repo, old, commit)) for old in last)
            return Reading(Revision(commit.decode("ascii")), name.decode(), ancestry)
        refs = repo.refs.as_dict()
    return _pick(location.display, branch, refs)


def _descends(repo: Repo, old: str, new: bytes) -> bool:
    """Whether ``new`` descends from ``old``; an unknown ``old`` was rewritten away."""
    old_id = old.encode("ascii", "replace")
    if old_id == new:
        return True
    try:
        return old_id in repo.object_store and can_fast_forward(repo, old_id, new)
    except (KeyError, ValueError):  # not a commit id at all
        return False


def _explain(exc: Exception, budget: Budget) -> ReadError:
    """Turn a transport failure into a message that names the source and the cause."""
    text = str(exc).strip()
    if isinstance(exc, HangupException):
        text = text or "the server hung up without answering"
    if budget.expired() or isinstance(exc, TimeoutError) or "timed out" in text.lower():
        return budget.timed_out()
    text = text or type(exc).__name__
    if any(hint in text.lower() for hint in _MISSING_HINTS):
        return MissingError(budget.source, text)
    if isinstance(exc, socket.gaierror):
        return ReadError(budget.source, "unknown host")
    if isinstance(exc, ConnectionRefusedError) or "connection refused" in text.lower():
        return ReadError(budget.source, "connection refused")
    return ReadError(budget.source, urls.scrub(text.splitlines()[0])[:300])


def _client(location: urls.Location, budget: Budget, opened: list) -> tuple[object, bytes]:
    """A dulwich client for the location; what it opens is added to ``opened``."""
    path = location.path.encode()
    if location.scheme == "git":
        return _TcpClient(location.host, location.port, budget, opened), path
    if location.scheme == "ssh":
        vendor = _SSHVendor(budget, opened)
        client = _SSHClient(location.host, location.port, location.username, vendor)
        client.opened = opened
        return client, path
    client = _HttpClient(location.display, budget, location.username, location.password)
    opened.append(client)
    return client, b""


class _TcpClient(TCPGitClient):
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


class _SSHClient(SSHGitClient):
    """ssh:// whose connections are closed by the reader even when a read fails."""

    opened: list

    def _connect(self, cmd, path, protocol_version=None):
        proto, can_read, stderr = super()._connect(cmd, path, protocol_version)
        self.opened.append(proto)
        return proto, can_read, stderr


class _HttpClient(Urllib3HttpGitClient):
    """Smart HTTP with a deadline, a size cap, and no fallback to dumb HTTP."""

    def __init__(self, base_url: str, budget: Budget, username, password) -> None:
        super().__init__(base_url, username=username, password=password, timeout=budget.timeout)
        self._budget = budget
        self.pool_manager = _NoRetries(self.pool_manager)

    def _http_request(self, url, headers=None, data=None, raise_for_status=True):
        import urllib3

        left = self._budget.remaining()
        self._timeout = urllib3.Timeout(connect=left, read=left)
        resp, read = super()._http_request(url, headers, data, raise_for_status)
        content_type = resp.headers.get("Content-Type") or "no content type"
        if not content_type.startswith("application/x-git-"):
            resp.close()
            reason = f"not a git smart-HTTP server (it answered with {content_type})"
            raise ReadError(self._budget.source, reason)
        return resp, self._budget.bounded(read)

    def close(self) -> None:
        """Close the pooled connections."""
        self.pool_manager.clear()


class _NoRetries:
    """A pool manager that does not retry: a retried hang would outlive the deadline."""

    def __init__(self, manager) -> None:
        import urllib3

        self._manager = manager
        self.headers = manager.headers
        self._retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=3)

    def request(self, method, url, **kwargs):
        """Make the request once, following at most three redirects."""
        return self._manager.request(method, url, retries=self._retries, **kwargs)

    def clear(self) -> None:
        """Close the pooled connections."""
        self._manager.clear()


class _SSHVendor(SSHVendor):
    """Runs the ``ssh`` client from an argv list, with the read's deadline."""

    def __init__(self, budget: Budget, opened: list) -> None:
        self._budget = budget
        self._opened = opened

    def run_command(
        self,
        host,
        command,
        username=None,
        port=None,
        password=None,
        key_filename=None,
        ssh_command=None,
        protocol_version=None,
    ):
        connect_timeout = max(1, int(self._budget.remaining()))
        argv = ["ssh", "-x", "-T", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
        if port:
            argv += ["-p", str(port)]
        if username:
            argv += ["-l", username]
        if key_filename:
            argv += ["-i", key_filename]
        if protocol_version == 2:
            argv += ["-o", "SetEnv=GIT_PROTOCOL=version=2"]
        command = command.decode() if isinstance(command, bytes) else command
        argv += ["--", host, command]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
        connection = _SSHProcess(proc, self._budget)
        self._opened.append(connection)
        return connection


class _SSHProcess:
    """The ``ssh`` child as dulwich's connection object, reads bounded by the deadline."""

    def __init__(self, proc: subprocess.Popen, budget: Budget) -> None:
        self.proc = proc
        self.stderr = proc.stderr
        self._stream = PipeStream(proc.stdout.fileno(), budget)
        self.read = self._stream.read
        self.can_read = self._stream.can_read

    def write(self, data: bytes) -> None:
        """Send ``data`` to the remote command."""
        self.proc.stdin.write(data)

    def close(self) -> None:
        """End the ssh child and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pipe.close()
