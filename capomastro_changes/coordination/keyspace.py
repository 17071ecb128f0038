"""What every Redis keyspace of the app shares: a client, a key prefix, reply decoding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import get_redis
from capomastro_changes.coordination.errors import LockLost, NotHolder
from capomastro_changes.coordination.values import Holder

DEFAULT_PREFIX = "capomastro-changes:"


def text(value) -> str | None:
    """A Redis reply field as text (None stays None)."""
    return value.decode() if isinstance(value, bytes) else (None if value is None else str(value))


def milliseconds(seconds: float) -> int:
    """Milliseconds for Redis; a lock that never expires is refused (it outlives a crash)."""
    ms = int(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"a lock TTL must be positive, got {seconds!r}")
    return ms


def moment(ms, plus_ms=0) -> datetime | None:
    """A Redis millisecond time as a datetime; None for a negative (absent) TTL."""
    if int(plus_ms) < 0:
        return None
    return datetime.fromtimestamp((int(ms) + int(plus_ms)) / 1000, tz=UTC)


def setting(name: str, value):
    """``value``, or the app's setting when the caller gave none."""
    return value if value is not None else getattr(settings, name)


def holder_from(fields, now_ms) -> Holder | None:
    """A Holder from the script reply fields (request, token, fence, since, pttl)."""
    request, token, fence, since, pttl = fields
    if request is None:
        return None
    return Holder(text(request), text(token), int(fence), moment(since), moment(now_ms, pttl))


def fresh_token() -> str:
    return uuid.uuid4().hex


class Keyspace:
    """A Redis client and a key prefix; the client is the caller's, or the app's."""

    def __init__(self, client=None, prefix: str = DEFAULT_PREFIX):
        self.client = get_redis() if client is None else client
        self.prefix = prefix

    def _key(self, *parts) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def _refuse(self, key: str, reply) -> None:
        """Raise the misuse a script reported (``lost`` or ``not_holder``), if any."""
        word = text(reply[0])
        if word == "lost":
            raise LockLost(key)
        if word == "not_holder":
            raise NotHolder(key, holder_from(reply[1:6], reply[6]))
