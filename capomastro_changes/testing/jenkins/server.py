"""The HTTP plumbing of the stand-in: requests in, responses out, nothing Jenkins-specific.

Routing and Jenkins' behaviour live in :mod:`.routes`; this module only turns
a socket conversation into a :class:`Request` and writes a :class:`Response`
back, with the ``X-Jenkins`` headers every real Jenkins answer carries. One
connection serves one request (HTTP/1.0), so stopping the server leaves no
pooled connection that a client could keep talking to.
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024


@dataclass
class Request:
    """One HTTP request, with the path unquoted and the query as a dict."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body read as ``application/x-www-form-urlencoded``."""
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class Response:
    """What to answer: status, body and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data, status: int = 200) -> Response:
    """A JSON answer, as Jenkins' ``api/json`` gives."""
    return Response(status, json.dumps(data).encode(), "application/json;charset=UTF-8")


def text_response(text: str, status: int = 200, **headers: str) -> Response:
    """A plain-text answer (consoleText, error messages)."""
    return Response(
        status, text.encode(), headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def html_response(title: str, status: int = 200) -> Response:
    """A minimal HTML page, for URLs a browser (or a followed redirect) lands on."""
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body></body></html>"
    return Response(status, page.encode(), "text/html;charset=UTF-8")


def redirect(location: str, status: int = 302) -> Response:
    """A redirect, which requests (and so python-jenkins) follows with a GET."""
    return Response(status, b"", headers={"Location": location})


class StandInHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that hands every request to ``app.handle``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app):
        self.app = app
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the app, writes the answer (or drops the connection)."""

    server_version = "Jetty(10.0.20)"
    sys_version = ""
    timeout = 30

    def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def _serve(self, method: str) -> None:
        self.server.app.log_access(method, self.path)
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._write(text_response("Request body too large", 413), method)
            return
        request = Request(
            method=method,
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=self.headers,
            body=self.rfile.read(length) if length else b"",
        )
        response = self.server.app.handle(request)
        if response is None:
            self._drop()
            return
        try:
            self._write(response, method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a timeout fault)

    def _write(self, response: Response, method: str) -> None:
        app = self.server.app
        self.send_response(response.status)
        self.send_header("X-Jenkins", app.version)
        self.send_header("X-Jenkins-Session", app.session)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            # Header values are ISO-8859-1 on the wire: what it cannot hold is sent as "?".
            self.send_header(name, value.encode("latin-1", "replace").decode("latin-1"))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the connection without a word, as a crashing proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        logger.debug("%s %s", self.address_string(), format % args)
