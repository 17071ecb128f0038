"""The values the lock keyspaces answer with: policies, statuses, grants, holders.

Frozen dataclasses and enums only, apart from :mod:`capomastro_changes.coordination.locks`
so the admin and the engine can read a lock's state without its Redis code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class BusyPolicy(enum.StrEnum):
    """What a request does when its dependency is already building."""

    QUEUE = "queue"  # wait, as the only (newest) waiting request
    DISCARD = "discard"  # skip quietly
    FAIL = "fail"  # skip, recorded as an error
    SUPERSEDE = "supersede"  # the caller cancels the holder's queued build and takes over


class AcquireStatus(enum.Enum):
    ACQUIRED = "acquired"
    QUEUED = "queued"
    BUSY = "busy"


class ReleaseStatus(enum.Enum):
    RELEASED = "released"
    HANDED_OFF = "handed_off"


@dataclass(frozen=True)
class Grant:
    """What a new holder needs: its token to release/extend, its fence for the database."""

    dependency: str
    request: str
    token: str
    fence: int


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as the admin and a superseding caller see it."""

    request: str
    token: str
    fence: int
    since: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Waiter:
    """The one request waiting for a dependency's lock."""

    request: str
    since: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class AcquireResult:
    """The answer to a build request.

    ``grant`` is set when ACQUIRED; ``holder`` when QUEUED or BUSY; ``superseded``
    names the waiting request this one replaced (it will not run), if any.
    """

    status: AcquireStatus
    grant: Grant | None = None
    superseded: str | None = None
    holder: Holder | None = None


@dataclass(frozen=True)
class ReleaseResult:
    """RELEASED, or HANDED_OFF with the grant of the waiting request, to dispatch now."""

    status: ReleaseStatus
    handoff: Grant | None = None


@dataclass(frozen=True)
class LockState:
    """Everything Redis knows about one dependency, for the admin."""

    dependency: str
    holder: Holder | None
    waiter: Waiter | None
    last_fence: int
