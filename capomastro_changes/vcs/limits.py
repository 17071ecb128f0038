"""Hard limits on one remote read: a deadline for the whole read and a size cap.

A per-socket timeout alone lets a server that trickles one byte a second hold
a worker for hours, so every blocking read here is given only the time left
until the read's deadline, and every byte is counted against the cap. Reads
made inside libraries (urllib3, breezy) are held to the same deadline by
:mod:`capomastro_changes.vcs.deadline`.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable

from capomastro_changes.vcs.errors import ReadTimeout, TooLargeError


class Budget:
    """The time and bytes one read of one source may still spend.

    Args:
        source: The source as shown in messages.
        timeout: Seconds the whole read may take.
        max_bytes: Bytes the remote may send in all (None: the reader bounds
            what it reads itself).
    """

    def __init__(self, source: str, timeout: float, max_bytes: int | None = None) -> None:
        self.source = source
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.deadline = time.monotonic() + timeout
        self.received = 0

    def remaining(self) -> float:
        """Seconds left; raises ReadTimeout once there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out()
        return left

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.deadline

    def timed_out(self) -> ReadTimeout:
        """The error for a remote that did not answer in time."""
        return ReadTimeout(self.source, f"no answer within {self.timeout:g} seconds")

    def spend(self, count: int) -> None:
        """Count ``count`` received bytes; raises TooLargeError past the cap."""
        self.received += count
        if self.max_bytes is not None and self.received > self.max_bytes:
            raise TooLargeError(
                self.source, f"the server sent more than {self.max_bytes} bytes; giving up"
            )

    def bounded(self, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
        """Wrap a ``read(size)`` callable so that it counts against the deadline and the cap.

        No read starts once the deadline has passed; one that has started is
        cut short by the read's :class:`~capomastro_changes.vcs.deadline.Deadline`.
        """

        def read_counted(size: int = -1) -> bytes:
            self.remaining()
            data = read(size)
            self.spend(len(data))
            return data

        return read_counted


class SocketStream:
    """Exact-size reads from a socket, each bounded by the budget's deadline.

    Buffered both ways: git's pkt-lines are a few bytes each, and a receive
    (or a send) per line cost a system call, and the server a wake-up, for
    every line. Writes wait in a buffer until the next read (or the close),
    so a request goes out in one send; reads take whatever the socket holds.

    Args:
        sock: A connected socket; the stream owns it.
        budget: The read's budget.
    """

    RECEIVE = 65536

    def __init__(self, sock: socket.socket, budget: Budget) -> None:
        self._sock = sock
        self._budget = budget
        self._received = bytearray()
        self._pending = bytearray()

    def read(self, size: int) -> bytes:
        """Read exactly ``size`` bytes (fewer only at end of stream)."""
        self.flush()
        while len(self._received) < size:
            self._sock.settimeout(self._budget.remaining())
            try:
                chunk = self._sock.recv(self.RECEIVE)
            except TimeoutError:
                raise self._budget.timed_out() from None
            if not chunk:
                break
            self._budget.spend(len(chunk))
            self._received += chunk
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def write(self, data: bytes) -> None:
        """Queue ``data``; it is sent, before the deadline, with the next read or the close."""
        self._pending += data

    def flush(self) -> None:
        """Send what is queued, before the deadline."""
        if not self._pending:
            return
        self._sock.settimeout(self._budget.remaining())
        try:
            self._sock.sendall(self._pending)
        except TimeoutError:
            raise self._budget.timed_out() from None
        self._pending.clear()

    def can_read(self) -> bool:
        """True when a read would not block."""
        self.flush()
        if self._received:
            return True
        readable, _, _ = select.select([self._sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        """Send what is queued (best effort: the read is over), then close the socket."""
        try:
            if not self._budget.expired():
                self.flush()
        except (OSError, ReadTimeout):
            pass
        finally:
            self._sock.close()


class PipeStream:
    """Exact-size reads from a child process's stdout, bounded by the deadline.

    Args:
        fd: The pipe's file descriptor.
        budget: The read's budget.
    """

    def __init__(self, fd: int, budget: Budget) -> None:
        self._fd = fd
        self._budget = budget

    def read(self, size: int) -> bytes:
        """Read exactly ``size`` bytes (fewer only at end of stream)."""
        chunks, wanted = [], size
        while wanted > 0:
            readable, _, _ = select.select([self._fd], [], [], self._budget.remaining())
            if not readable:
                raise self._budget.timed_out()
            chunk = os.read(self._fd, min(wanted, 65536))
            if not chunk:
                break
            self._budget.spend(len(chunk))
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def can_read(self) -> bool:
        """True when a read would not block."""
        readable, _, _ = select.select([self._fd], [], [], 0)
        return bool(readable)
