"""The stand-in's fault knobs, counted, plus the one fault it lacks: a Jenkins that hangs.

A timeout here is a request Jenkins never answers: the handler waits longer
than the client's timeout, then drops the connection without doing anything,
so the client sees a timeout and Jenkins did not act on it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from capomastro_changes.testing.jenkins.faults import DISCONNECT, Faults


@dataclass
class CountedFaults(Faults):
    """:class:`Faults` that count what they injected, with ``timeout_rate`` beside the rest.

    Attributes:
        timeout_rate: share of API requests (0..1) left unanswered for ``hang_seconds``.
        hang_seconds: how long such a request hangs before its connection is dropped.
    """

    timeout_rate: float = 0.0
    hang_seconds: float = 3.0
    injected: Counter = field(default_factory=Counter, repr=False)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _count(self, kind: str) -> None:
        with self._count_lock:
            self.injected[kind] += 1

    def request_fault(self) -> int | str | None:
        """As :meth:`Faults.request_fault`, with hangs first; every fault counted."""
        with self._lock:
            hang = bool(self.timeout_rate) and self._random.random() < self.timeout_rate
        if hang:
            self._count("timeouts")
            time.sleep(self.hang_seconds)
            return DISCONNECT
        fault = super().request_fault()
        if fault == DISCONNECT:
            self._count("disconnects")
        elif fault is not None:
            self._count(f"http_{fault}")
        return fault

    def drop_notification(self) -> bool:
        dropped = super().drop_notification()
        if dropped:
            self._count("notifications_dropped")
        return dropped

    def calm(self) -> None:
        """No more faults (the settle phase): a well-behaved Jenkins."""
        self.timeout_rate = 0.0
        self.clear()

    def counts(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self.injected)
