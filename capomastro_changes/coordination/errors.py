"""What can go wrong in Redis: a lock misused, or Redis itself away.

Callers outside this package catch these and never ``redis.RedisError``:
every public method of a keyspace turns a Redis failure into
:class:`CoordinationError`, whose message names the failure, never a secret.
"""

from __future__ import annotations

import functools

import redis


class CoordinationError(Exception):
    """Redis could not be reached, timed out, or refused a command."""


class LockError(Exception):
    """Base of the lock misuses below."""


class NotHolder(LockError):
    """The token does not hold the lock: someone else does (see ``holder``)."""

    def __init__(self, key: str, holder=None):
        self.key = key
        self.holder = holder
        who = f"request {holder.request} (fence {holder.fence})" if holder else "nobody"
        super().__init__(f"{key} is not held by this token; held by {who}")


class LockLost(NotHolder):
    """The lock expired and nobody holds it: the holder was too slow to extend it."""

    def __init__(self, key: str):
        super().__init__(key)
        self.args = (f"{key} expired: nobody holds it",)


def guarded(method):
    """``method`` with a Redis failure raised as :class:`CoordinationError`."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise CoordinationError(f"Redis: {exc}") from exc

    return call


def guard_public_methods(cls):
    """Class decorator: every public method of ``cls`` (its own, not inherited) guarded."""
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, guarded(value))
    return cls
