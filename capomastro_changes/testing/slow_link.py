"""A slow network link to Redis: a loopback TCP proxy that holds what a client sends.

A process given the proxy's URL talks to the real Redis, only later: every
command it sends arrives ``delay`` seconds after it was sent. Between two of
its commands, another process on a direct link can act, which is how a test
meets an interleaving that a fast link makes too rare to see (a build that ends
while a dispatcher is between two steps).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from capomastro_changes.testing.servers import LOOPBACK

CHUNK = 65536


def _connect_upstream(url: str) -> socket.socket:
    """A socket to the Redis at ``url`` (``unix://path`` or ``redis://host:port``)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(parts.path)
        return upstream
    return socket.create_connection((parts.hostname or LOOPBACK, parts.port or 6379))


def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
    """Copy bytes until either side closes, each chunk ``delay`` seconds late.

    Each socket is the source of one pump, which closes it at the end.
    """
    with contextlib.suppress(OSError):
        while data := source.recv(CHUNK):
            if delay:
                time.sleep(delay)
            target.sendall(data)
    for sock in (source, target):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    source.close()


@contextlib.contextmanager
def slow_link(redis_url: str, delay: float) -> Iterator[str]:
    """Serve a proxy to ``redis_url`` that delays every client message by ``delay`` s.

    Yields:
        The proxy's URL, ``redis://127.0.0.1:PORT/0``.
    """
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                client = listener.accept()[0]
            except TimeoutError:
                continue
            upstream = _connect_upstream(redis_url)
            for args in ((client, upstream, delay), (upstream, client, 0.0)):
                thread = threading.Thread(target=_pump, args=args, daemon=True)
                thread.start()
                threads.append(thread)

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    try:
        yield f"redis://{LOOPBACK}:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        acceptor.join()
        listener.close()
        for thread in threads:
            thread.join(timeout=delay + 5)
