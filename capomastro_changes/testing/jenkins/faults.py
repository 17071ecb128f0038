"""Fault knobs: make the stand-in misbehave the ways a real Jenkins does.

A test (or a chaos harness, through ``POST /standin/faults``) turns these on
while the server runs. Random faults draw from one seeded generator so a
failing run can be replayed with the same seed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

DISCONNECT = "disconnect"

TUNABLE = {
    "error_rate": float,
    "error_status": int,
    "latency": float,
    "trigger_delay": float,
    "trigger_latency": float,
    "disconnect_rate": float,
    "drop_notifications": float,
    "hang_builds": bool,
}


@dataclass
class Faults:
    """What goes wrong, and how often.

    Attributes:
        error_rate: share of API requests (0..1) answered with ``error_status``.
        error_status: the status of those answers (500 unless told).
        latency: seconds every API request waits before it is answered.
        trigger_delay: seconds a trigger (``buildWithParameters``) waits *before*
            Jenkins queues the build: a trigger still on its way.
        trigger_latency: seconds a trigger (``buildWithParameters``) waits *after*
            Jenkins queued the build and before it answers: the window in which
            a worker that dies has had its build taken without knowing it.
        disconnect_rate: share of API requests whose connection is closed unanswered.
        drop_notifications: share of Notification-plugin posts never sent.
        hang_builds: new builds start but do nothing until stopped.
        seed: seed of the generator behind every random fault.
    """

    error_rate: float = 0.0
    error_status: int = 500
    latency: float = 0.0
    trigger_delay: float = 0.0
    trigger_latency: float = 0.0
    disconnect_rate: float = 0.0
    drop_notifications: float = 0.0
    hang_builds: bool = False
    seed: int | None = None
    _scheduled: list[int] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` API requests with ``status``, whatever the rates say."""
        with self._lock:
            self._scheduled.extend([status] * count)

    def update(self, **values) -> None:
        """Change knobs by name (the ``/standin/faults`` endpoint's body).

        Raises:
            ValueError: an unknown knob, or a value of the wrong kind.
        """
        for name, value in values.items():
            if name not in TUNABLE:
                raise ValueError(f"unknown fault knob {name!r}; known: {sorted(TUNABLE)}")
            kind = TUNABLE[name]
            if not isinstance(value, int | float | bool) or (kind is bool) != isinstance(
                value, bool
            ):
                raise ValueError(f"fault knob {name!r} wants a {kind.__name__}")
            setattr(self, name, kind(value))

    def clear(self) -> None:
        """Back to a well-behaved Jenkins."""
        with self._lock:
            self._scheduled.clear()
        self.update(
            error_rate=0.0,
            latency=0.0,
            trigger_delay=0.0,
            trigger_latency=0.0,
            disconnect_rate=0.0,
            drop_notifications=0.0,
            hang_builds=False,
        )

    def request_fault(self) -> int | str | None:
        """The fault for one API request: a status, :data:`DISCONNECT`, or None."""
        with self._lock:
            if self._scheduled:
                return self._scheduled.pop(0)
            if self.disconnect_rate and self._random.random() < self.disconnect_rate:
                return DISCONNECT
            if self.error_rate and self._random.random() < self.error_rate:
                return self.error_status
        return None

    def drop_notification(self) -> bool:
        """True when this notification post should silently never happen."""
        with self._lock:
            return bool(self.drop_notifications) and (
                self._random.random() < self.drop_notifications
            )

    def as_json(self) -> dict:
        """The knobs' current values."""
        return {name: getattr(self, name) for name in TUNABLE} | {"seed": self.seed}
