"""A tiny HTTP server that records what is posted to it: a stand-in for the notification view.

Tests point a job's Notification endpoint at :attr:`NotificationReceiver.url`
and then read :meth:`NotificationReceiver.posts` (or wait for a number of
them). It answers every POST with ``status`` (200 unless told), which lets a
test check that the sender ignores a receiver's error, as the plugin does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ReceivedPost:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner._record(ReceivedPost(self.path, dict(self.headers.items()), body))
        self.send_response(self.server.owner.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


class NotificationReceiver:
    """Listens on a free local port and keeps every POST, in arrival order."""

    def __init__(self, host: str = "127.0.0.1", status: int = 200):
        self.status = status
        self._posts: list[ReceivedPost] = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Root URL of the receiver, with a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> NotificationReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _record(self, post: ReceivedPost) -> None:
        with self._cond:
            self._posts.append(post)
            self._cond.notify_all()

    def posts(self) -> list[ReceivedPost]:
        """What was posted so far."""
        with self._cond:
            return list(self._posts)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedPost]:
        """Wait until at least ``count`` posts arrived, and return them all.

        Raises:
            TimeoutError: fewer arrived in time.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._posts) >= count, timeout):
                raise TimeoutError(f"{len(self._posts)} of {count} posts arrived in {timeout} s")
            return list(self._posts)
