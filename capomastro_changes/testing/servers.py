"""Real loopback servers for tests and benchmarks, as context managers.

Each server listens on 127.0.0.1, yields what a client needs to reach it, and
is stopped (process ended, sockets closed, threads joined) when the ``with``
block ends, whatever happened inside it.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on right now (for servers that cannot take 0)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
            return True
        time.sleep(0.02)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextlib.contextmanager
def git_daemon(base_path: str | os.PathLike) -> Iterator[str]:
    """Serve every repository below ``base_path`` over ``git://``.

    Yields:
        The base URL, ``git://127.0.0.1:PORT``; a repository at
        ``base_path/x.git`` is ``BASE/x.git``.
    """
    for _attempt in range(5):
        port = free_port()
        argv = [
            "git", "daemon", "--reuseaddr", "--export-all", "--informative-errors",
            "--enable=upload-pack", f"--base-path={base_path}", f"--listen={LOOPBACK}",
            f"--port={port}", str(base_path),
        ]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if _wait_for_port(port, proc):
                yield f"git://{LOOPBACK}:{port}"
                return
        finally:
            _stop(proc)
    raise RuntimeError("git daemon did not start")


@contextlib.contextmanager
def brz_serve(base_path: str | os.PathLike) -> Iterator[str]:
    """Serve every bzr branch below ``base_path`` over ``bzr://`` (read-only).

    Yields:
        The base URL, ``bzr://127.0.0.1:PORT``.
    """
    brz = str(Path(sys.executable).parent / "brz")
    env = {**os.environ, "BRZ_LOG": os.devnull}
    # brz buffers its "listening on port" line, so pick the port here.
    for _attempt in range(5):
        port = free_port()
        argv = [brz, "serve", f"--listen={LOOPBACK}", f"--port={port}", f"--directory={base_path}"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            if _wait_for_port(port, proc):
                yield f"bzr://{LOOPBACK}:{port}"
                return
        finally:
            _stop(proc)
    raise RuntimeError("brz serve did not start")


@contextlib.contextmanager
def _http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output clean."""


def git_http(base_path: str | os.PathLike) -> contextlib.AbstractContextManager[str]:
    """Serve the repositories below ``base_path`` over git's smart HTTP.

    git's own ``git-http-backend`` CGI answers every request (run from an argv
    list), so the server side is exactly what a real git host runs.

    Yields:
        The base URL, ``http://127.0.0.1:PORT``.
    """
    root = str(base_path)

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            self._run_backend(b"")

        def do_POST(self) -> None:
            self._run_backend(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def _run_backend(self, body: bytes) -> None:
            path, _, query = self.path.partition("?")
            env = {
                "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": LOOPBACK,
                "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            }  # fmt: skip
            done = subprocess.run([GIT_HTTP_BACKEND], input=body, env=env, capture_output=True)
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            headers = [line.split(":", 1) for line in head.decode("latin-1").splitlines()]
            status = next((v.strip() for k, v in headers if k.lower() == "status"), "200 OK")
            self.send_response(int(status.split()[0]))
            for key, value in headers:
                if key.lower() != "status":
                    self.send_header(key, value.strip())
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return _http_server(Handler)


def static_http(directory: str | os.PathLike) -> contextlib.AbstractContextManager[str]:
    """Serve the files below ``directory`` as plain HTTP (bzr branches read over http).

    Yields:
        The base URL, ``http://127.0.0.1:PORT``.
    """

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Keep test output clean."""

    return _http_server(Handler)


def not_git_http() -> contextlib.AbstractContextManager[str]:
    """An HTTP server that answers every request with a small HTML page.

    Yields:
        The base URL, ``http://127.0.0.1:PORT``.
    """

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            page = b"<html><body>Hello, this is not a repository.</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_POST = do_GET

    return _http_server(Handler)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word.

    Yields:
        Its port on 127.0.0.1.
    """
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept_forever)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port where connections are refused.

    Yields:
        The port.
    """
    yield free_port()
