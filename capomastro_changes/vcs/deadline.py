"""One deadline for a whole remote read, over every socket the read opens.

A socket timeout bounds one receive, not a read: a server that sends a byte
just before each timeout holds a worker for as long as it likes, and a read
that makes several calls (breezy opening a branch) gets the timeout once per
call. The sockets of dulwich's HTTP client (urllib3) and of breezy's
transports are opened deep inside those libraries, so they are caught where
every socket passes: ``socket.connect``, which Python reports as an audit
event (PEP 578). While a :class:`Deadline` is active in the current context,
a socket connecting in it gets the time left as its timeout, and once the
deadline passes a watchdog thread shuts every such socket down, so that a
blocked receive returns at once and the read fails. A connect after the deadline is
refused (a TimeoutError, which the libraries clean up after like any other).

The hook is added once, when this module is first imported, and does nothing
outside an active deadline (other threads, other code): audit hooks cannot be
removed, so it stays cheap.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import os
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
        self._token: Token | None = None

    def __enter__(self) -> Deadline:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _ACTIVE.reset(self._token)
        with self._lock:  # the watchdog shuts down only what is still open
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
            if self._closed:
                copy.close()
                return
            self._watched.append(copy)
            first = len(self._watched) == 1
        if first:
            _WATCHDOG.add(self._budget.deadline, self)

    def expire(self) -> None:
        """Shut down every socket of the read (the watchdog calls it at the deadline)."""
        with self._lock:
            for copy in self._watched:
                with contextlib.suppress(OSError):  # not connected (yet, or any more)
                    copy.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process that expires the deadlines that are due, in order.

    One thread for all reads, started on first use, so a read pays a heap push
    rather than a thread of its own. A forked child (a Celery prefork worker)
    starts its own: threads do not survive a fork.
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, when: float, deadline: Deadline) -> None:
        """Have ``deadline`` expired at monotonic time ``when`` (a no-op if it ended by then)."""
        with self._wake:
            heapq.heappush(self._due, (when, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="capomastro-changes-deadlines", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is deadline:  # due before what the thread waits for
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                deadline = heapq.heappop(self._due)[2]
            deadline.expire()


def _on_audit(event: str, args: tuple) -> None:
    """The audit hook: hand a connecting socket to the deadline active here, if any."""
    if event == "socket.connect":
        deadline = _ACTIVE.get()
        if deadline is not None:
            deadline.watch(args[0])


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.__init__)
sys.addaudithook(_on_audit)
