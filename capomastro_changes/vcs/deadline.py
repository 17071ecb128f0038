"""One deadline for a whole remote read, over every socket the read opens.

A socket timeout bounds one receive, not a read: a server that sends a byte
just before each timeout holds a worker for as long as it likes, and a read
that makes several calls (breezy opening a branch) gets the timeout once per
call. The sockets of dulwich's HTTP client (urllib3) and of breezy's
transports are opened deep inside those libraries, so they are caught where
every socket passes: ``socket.connect``, which Python reports as an audit
event (PEP 578). While a :class:`Deadline` is active in the current context,
a socket connecting in it gets the time left as its timeout, and once the
deadline passes a timer shuts every such socket down, so that a blocked
receive returns at once and the read fails. A connect after the deadline is
refused (a TimeoutError, which the libraries clean up after like any other).

The hook is added once, when this module is first imported, and does nothing
outside an active deadline (other threads, other code): audit hooks cannot be
removed, so it stays cheap.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import sys
import threading
import time
from contextvars import ContextVar, Token

from capomastro_changes.vcs.limits import Budget

_ACTIVE: ContextVar[Deadline | None] = ContextVar("capomastro_changes_deadline", default=None)


class Deadline:
    """Shut down the sockets one read opened once its budget's time is spent.

    Use it as a context manager around the read. The read then fails the way
    a dropped connection fails in the library doing it; :meth:`expired` tells
    the caller that the deadline was the cause.

    Args:
        budget: The read's budget: its deadline, and its source for messages.
    """

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._closed = False
        self._timer = threading.Timer(budget.remaining(), self._expire)
        self._timer.daemon = True
        self._token: Token | None = None

    def __enter__(self) -> Deadline:
        self._timer.start()
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _ACTIVE.reset(self._token)
        self._timer.cancel()
        self._timer.join()  # after this no shutdown can race the closes below
        with self._lock:
            self._closed = True
            watched, self._watched = self._watched, []
        for copy in watched:
            copy.close()

    def expired(self) -> bool:
        """True once the read's deadline has passed."""
        return self._budget.expired()

    def watch(self, sock: socket.socket) -> None:
        """Bound a socket that is connecting by the deadline.

        The socket is kept as a duplicate of its descriptor: a TLS wrapper
        takes the original's descriptor over, and shutting the duplicate down
        ends the connection under both.

        Raises:
            TimeoutError: The deadline has passed; the connect is refused. An
                OSError, so that the library connecting closes its socket.
        """
        left = self._budget.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(errno.ETIMEDOUT, "the read's deadline passed before this connect")
        current = sock.gettimeout()
        sock.settimeout(left if current is None else min(current, left))
        copy = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
        with self._lock:
            if not self._closed:
                self._watched.append(copy)
                return
        copy.close()

    def _expire(self) -> None:
        with self._lock:
            for copy in self._watched:
                with contextlib.suppress(OSError):  # not connected (yet, or any more)
                    copy.shutdown(socket.SHUT_RDWR)


def _on_audit(event: str, args: tuple) -> None:
    """The audit hook: hand a connecting socket to the deadline active here, if any."""
    if event == "socket.connect":
        deadline = _ACTIVE.get()
        if deadline is not None:
            deadline.watch(args[0])


sys.addaudithook(_on_audit)
