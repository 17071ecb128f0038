"""Locks in Redis: dependency build locks, source check locks, the beat leader guard.

This is the only module that talks to Redis about locks. Every read-then-write
runs as one Lua script (see :mod:`capomastro_changes.lock_scripts`), so two
workers can never both believe they hold a lock, and a lock is only ever
released or extended by the token that holds it. Tokens are plain strings, so
another process (the Jenkins notification view) can release a lock a worker
took, by naming its token. Nothing here renews itself: the caller extends a
build lock when Jenkins reports progress, and the TTL frees a lock whose holder
died.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from capomastro_changes import lock_scripts
from capomastro_changes.lock_values import (  # re-exported: callers import them from here
    AcquireResult,
    AcquireStatus,
    BusyPolicy,
    Grant,
    Holder,
    LockState,
    ReleaseResult,
    ReleaseStatus,
    Waiter,
)

__all__ = [
    "AcquireResult", "AcquireStatus", "BusyPolicy", "DependencyLocks", "Grant", "Holder",
    "LockError", "LockLost", "LockState", "NotHolder", "ReleaseResult", "ReleaseStatus", "Waiter",
]  # fmt: skip

DEFAULT_PREFIX = "capomastro-changes:"


class LockError(Exception):
    """Base of the lock misuses below."""


class NotHolder(LockError):
    """The token does not hold the lock: someone else does (see ``holder``)."""

    def __init__(self, key: str, holder: Holder | None = None):
        self.key = key
        self.holder = holder
        who = f"request {holder.request} (fence {holder.fence})" if holder else "nobody"
        super().__init__(f"{key} is not held by this token; held by {who}")


class LockLost(NotHolder):
    """The lock expired and nobody holds it: the holder was too slow to extend it."""

    def __init__(self, key: str):
        super().__init__(key)
        self.args = (f"{key} expired: nobody holds it",)


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else (None if value is None else str(value))


def _ms(seconds: float) -> int:
    """Milliseconds for Redis; a lock that never expires is refused (it outlives a crash)."""
    ms = int(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"a lock TTL must be positive, got {seconds!r}")
    return ms


def _when(ms, plus_ms=0) -> datetime | None:
    """A Redis millisecond time as a datetime; None for a negative (absent) TTL."""
    if int(plus_ms) < 0:
        return None
    return datetime.fromtimestamp((int(ms) + int(plus_ms)) / 1000, tz=UTC)


def _setting(name: str, value):
    """``value``, or the app's setting when the caller gave none."""
    if value is not None:
        return value
    from capomastro_changes.conf import settings

    return getattr(settings, name)


def _holder(fields, now_ms) -> Holder | None:
    """A Holder from the script reply fields (request, token, fence, since, pttl)."""
    request, token, fence, since, pttl = fields
    if request is None:
        return None
    return Holder(_text(request), _text(token), int(fence), _when(since), _when(now_ms, pttl))


def _new_token() -> str:
    return uuid.uuid4().hex


class _Keyspace:
    """A Redis client and a key prefix; the client is the caller's, or the app's."""

    def __init__(self, client=None, prefix: str = DEFAULT_PREFIX):
        if client is None:
            from capomastro_changes.redis_connection import get_redis

            client = get_redis()
        self.client = client
        self.prefix = prefix

    def _key(self, *parts) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def _refuse(self, key: str, reply) -> None:
        """Raise the misuse a script reported (``lost`` or ``not_holder``), if any."""
        word = _text(reply[0])
        if word == "lost":
            raise LockLost(key)
        if word == "not_holder":
            raise NotHolder(key, _holder(reply[1:6], reply[6]))


class DependencyLocks(_Keyspace):
    """Build locks per dependency: one holder, at most one waiting request, fenced.

    Args:
        client: a redis-py client; by default the app's (explicit socket timeout).
        prefix: namespace for every key, so tests and sites can share a Redis.
        ttl: seconds a lock lives without being extended; by default
            ``BUILD_LOCK_TTL``, as long as the longest build.
        waiter_grace: seconds a waiting request outlives the lock above it, so a
            sweeper can still claim it when the holder died; by default ``ttl``.
    """

    def __init__(
        self,
        client=None,
        prefix: str = DEFAULT_PREFIX,
        ttl: float | None = None,
        waiter_grace: float | None = None,
    ):
        super().__init__(client, prefix)
        self.ttl = float(_setting("BUILD_LOCK_TTL", ttl))
        self.waiter_grace = self.ttl if waiter_grace is None else float(waiter_grace)
        _ms(self.ttl), _ms(self.waiter_grace)  # refuse nonsense at construction
        register = self.client.register_script
        self._acquire = register(lock_scripts.ACQUIRE)
        self._release = register(lock_scripts.RELEASE)
        self._extend = register(lock_scripts.EXTEND)
        self._take_over = register(lock_scripts.TAKE_OVER)
        self._claim = register(lock_scripts.CLAIM_ORPHAN)

    def _keys(self, dep) -> list[str]:
        """lock, waiting, fence and the index of dependencies with a waiting request."""
        return [self._key("dep", dep, n) for n in ("lock", "waiting", "fence")] + [
            self._key("waiting-index")
        ]

    def lock_key(self, dep) -> str:
        """The Redis key of the dependency's build lock (for scripts that read it)."""
        return self._keys(dep)[0]

    def last_fence(self, dep) -> int:
        """The fence of the newest grant on the dependency (0 when none was ever made).

        A request whose fence is lower was followed by another holder: whatever
        it reports late is stale.
        """
        return int(self.client.get(self._keys(dep)[2]) or 0)

    def _ttl_ms(self, ttl: float | None) -> int:
        return _ms(self.ttl if ttl is None else ttl)

    def acquire(
        self, dep, request, policy: BusyPolicy | str = BusyPolicy.QUEUE, ttl: float | None = None
    ) -> AcquireResult:
        """Take the lock for ``request``, or apply the busy policy, in one step.

        Only ``queue`` changes anything when busy: the request becomes the one
        waiter, replacing (and naming) an older one. The other policies report
        BUSY with the holder and leave the recording to the caller.
        """
        policy = BusyPolicy(policy)
        token, queue = _new_token(), "1" if policy is BusyPolicy.QUEUE else "0"
        reply = self._acquire(
            keys=self._keys(dep),
            args=[token, request, self._ttl_ms(ttl), queue, _ms(self.waiter_grace), dep],
        )
        status = AcquireStatus(_text(reply[0]))
        grant = None
        if status is AcquireStatus.ACQUIRED:
            grant = Grant(str(dep), str(request), token, int(reply[1]))
        return AcquireResult(status, grant, _text(reply[2]), _holder(reply[3:8], reply[8]))

    def release(self, dep, token: str, ttl: float | None = None) -> ReleaseResult:
        """Release the lock held by ``token``, handing it to the waiting request if any.

        Raises:
            NotHolder: another token holds the lock; it is left untouched.
            LockLost: nobody holds it (it expired); see :meth:`claim_orphaned_waiter`.
        """
        new_token = _new_token()
        reply = self._release(keys=self._keys(dep), args=[token, new_token, self._ttl_ms(ttl), dep])
        self._refuse(self._keys(dep)[0], reply)
        if _text(reply[0]) == "released":
            return ReleaseResult(ReleaseStatus.RELEASED)
        handoff = Grant(str(dep), _text(reply[2]), new_token, int(reply[1]))
        return ReleaseResult(ReleaseStatus.HANDED_OFF, handoff)

    def extend(self, dep, token: str, ttl: float | None = None) -> None:
        """Give the lock a full TTL again (Jenkins said the build started, or is running).

        Raises:
            NotHolder: another token holds the lock.
            LockLost: the lock expired: the build may be running unguarded.
        """
        keys = self._keys(dep)[:2]
        reply = self._extend(keys=keys, args=[token, self._ttl_ms(ttl), _ms(self.waiter_grace)])
        self._refuse(keys[0], reply)

    def take_over(self, dep, token: str, request, ttl: float | None = None) -> Grant:
        """Replace the holder named by ``token`` with ``request`` (the supersede policy).

        The caller first cancels the holder's build still queued in Jenkins; the
        token check makes this safe if the holder changed meanwhile.

        Raises:
            NotHolder: the lock moved on to another holder.
            LockLost: the lock is free; acquire it instead.
        """
        lock, _, fence = self._keys(dep)[:3]
        new_token = _new_token()
        reply = self._take_over(
            keys=[lock, fence], args=[token, new_token, request, self._ttl_ms(ttl)]
        )
        self._refuse(lock, reply)
        return Grant(str(dep), str(request), new_token, int(reply[1]))

    def claim_orphaned_waiter(self, dep, ttl: float | None = None) -> Grant | None:
        """Give a free lock to its waiting request (its holder died); None if nothing to do.

        Safe to call from any number of sweepers: exactly one gets the grant.
        """
        new_token = _new_token()
        reply = self._claim(keys=self._keys(dep), args=[new_token, self._ttl_ms(ttl), dep])
        if _text(reply[0]) != "claimed":
            return None
        return Grant(str(dep), _text(reply[2]), new_token, int(reply[1]))

    def orphaned_waiters(self) -> list[str]:
        """Dependencies that have a waiting request and (at this moment) no lock.

        A hint for the sweeper, read from a small index without blocking Redis
        (ZSCAN, never KEYS); :meth:`claim_orphaned_waiter` decides atomically.
        """
        deps = [_text(m) for m, _ in self.client.zscan_iter(self._key("waiting-index"))]
        with self.client.pipeline(transaction=False) as pipe:
            for dep in deps:
                pipe.exists(self._key("dep", dep, "lock"))
            held = pipe.execute()
        return [dep for dep, h in zip(deps, held) if not h]

    def holder_tokens(self, deps) -> dict[str, str | None]:
        """The token holding each dependency's lock (None when free), in one round trip."""
        deps = [str(dep) for dep in deps]
        with self.client.pipeline(transaction=False) as pipe:
            for dep in deps:
                pipe.hget(self._key("dep", dep, "lock"), "token")
            tokens = pipe.execute()
        return {dep: _text(token) for dep, token in zip(deps, tokens)}

    def inspect(self, dep) -> LockState:
        """Holder, waiter and last fence of one dependency, read in one transaction."""
        lock, waiting, fence, _ = self._keys(dep)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(lock).pttl(lock).hgetall(waiting).pttl(waiting).get(fence).time()
            held, lock_ttl, wait, wait_ttl, last, (sec, usec) = pipe.execute()
        now = sec * 1000 + usec // 1000
        held = {_text(k): v for k, v in held.items()}
        wait = {_text(k): v for k, v in wait.items()}
        holder = None
        if held.get("request") is not None:
            fields = [held.get(n) for n in ("request", "token", "fence", "since")]
            holder = _holder([*fields, lock_ttl], now)
        waiter = None
        if wait.get("request") is not None:
            waiter = Waiter(_text(wait["request"]), _when(wait["since"]), _when(now, wait_ttl))
        return LockState(str(dep), holder, waiter, int(last or 0))
