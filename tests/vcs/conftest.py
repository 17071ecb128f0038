"""Fixtures for the VCS reader tests: repositories served by real loopback servers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from capomastro_changes.testing import servers

ALLOWED = ("file", "git", "http", "https", "ssh", "bzr")


@dataclass
class Served:
    """A directory of repositories and how to reach one of them by name."""

    base: Path
    url: Callable[[str], str]
    history_at_hand: bool


@pytest.fixture(params=["path", "file-url", "git-daemon", "smart-http"])
def git_served(request, tmp_path):
    """Repositories below ``base``, reached by path, file://, git:// or smart HTTP."""
    base = tmp_path / "served"
    base.mkdir()
    with contextlib.ExitStack() as stack:
        kind = request.param
        if kind == "path":
            root = str(base)
        elif kind == "file-url":
            root = f"file://{base}"
        elif kind == "git-daemon":
            root = stack.enter_context(servers.git_daemon(base))
        else:
            root = stack.enter_context(servers.git_http(base))
        yield Served(base, lambda name: f"{root}/{name}", kind in ("path", "file-url"))


@pytest.fixture(params=["path", "file-url", "brz-serve", "http"])
def bzr_served(request, tmp_path):
    """Branches below ``base``, reached by path, file://, bzr:// or plain HTTP."""
    base = tmp_path / "branches"
    base.mkdir()
    with contextlib.ExitStack() as stack:
        kind = request.param
        if kind == "path":
            root = str(base)
        elif kind == "file-url":
            root = f"file://{base}"
        elif kind == "brz-serve":
            root = stack.enter_context(servers.brz_serve(base))
        else:
            root = stack.enter_context(servers.static_http(base))
        yield Served(base, lambda name: f"{root}/{name}", kind in ("path", "file-url"))


class _Listener:
    """A loopback TCP listener whose connections a handler serves, each in its own thread."""

    def __init__(self, handle: Callable[[socket.socket, bytes, threading.Event], None]) -> None:
        self._handle = handle
        self._sock = socket.create_server((servers.LOOPBACK, 0))
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepted: list[socket.socket] = []
        self.port = self._sock.getsockname()[1]
        self._accepter = threading.Thread(target=self._accept_until_stopped)
        self._accepter.start()

    @property
    def connections(self) -> int:
        """How many connections were accepted so far."""
        return len(self._accepted)

    def _accept_until_stopped(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self._accepted.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,))
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.settimeout(0.5)
            request = b""
            with contextlib.suppress(TimeoutError):
                request = conn.recv(65536)  # the request, or enough of it
            self._handle(conn, request, self._stop)

    def close(self) -> None:
        self._stop.set()
        self._accepter.join()
        for conn in self._accepted:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join()
        for conn in self._accepted:
            conn.close()
        self._sock.close()


@pytest.fixture
def trickler():
    """Start servers that send ``prefix``, then one byte every ``interval`` s, forever.

    ``interval`` None: send ``prefix`` and then nothing, holding the
    connection open (a server that stalls mid-answer) or, with ``close``,
    closing it (an answer cut short). Trickled bytes arrive well within any
    per-receive timeout, so only a deadline for the whole read ends the wait.
    """
    started: list[_Listener] = []

    def serve(prefix: bytes, interval: float | None = 0.1, close: bool = False) -> int:
        def handle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
            conn.sendall(prefix)
            if close:
                conn.shutdown(socket.SHUT_WR)
            while not stop.wait(interval or 0.05):
                if interval is not None:
                    conn.sendall(b"a")

        started.append(_Listener(handle))
        return started[-1].port

    yield serve
    for listener in started:
        listener.close()


@pytest.fixture
def counting_listener():
    """A listener that accepts connections, counts them, and says nothing."""
    listener = _Listener(lambda conn, request, stop: stop.wait())
    yield listener
    listener.close()


def _answer(conn: socket.socket, status: str, *headers: str) -> None:
    head = "".join(f"{h}\r\n" for h in (*headers, "Content-Length: 0", "Connection: close"))
    conn.sendall(f"HTTP/1.1 {status}\r\n{head}\r\n".encode())


@pytest.fixture
def http_recorder():
    """An HTTP server that answers 404 to everything and records each request's headers.

    Yields:
        ``(base URL, list of {lower-case header name: value})``.
    """
    seen: list[dict[str, str]] = []

    def handle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        lines = request.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")[1:]
        seen.append({k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)})
        _answer(conn, "404 Not Found")

    listener = _Listener(handle)
    yield f"http://{servers.LOOPBACK}:{listener.port}", seen
    listener.close()


@pytest.fixture
def redirector():
    """Start HTTP servers that answer every request with a 302 to ``target(path)``.

    Each call takes a function from the request path to the Location header
    and returns the redirecting server's base URL.
    """
    started: list[_Listener] = []

    def start(target: Callable[[str], str]) -> str:
        def handle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
            path = request.split(b" ", 2)[1].decode("latin-1")
            _answer(conn, "302 Found", f"Location: {target(path)}")

        started.append(_Listener(handle))
        return f"http://{servers.LOOPBACK}:{started[-1].port}"

    yield start
    for listener in started:
        listener.close()
