"""Dependency build locks in Redis: one holder, at most one waiting request, fenced.

The check locks and the beat leader guard are :mod:`.leases`; build slots are
:mod:`.slots`. Every read-then-write runs as one Lua script (see
:mod:`.scripts`), so two workers can never both believe they hold a lock, and a lock is only ever
released or extended by the token that holds it. Tokens are plain strings, so
another process (the Jenkins notification view) can release a lock a worker
took, by naming its token. Nothing here renews itself: the caller extends a
build lock when Jenkins reports progress, and the TTL frees a lock whose holder
died.
"""

from __future__ import annotations

from capomastro_changes.coordination import scripts
from capomastro_changes.coordination.errors import guard_public_methods
from capomastro_changes.coordination.keyspace import (
    DEFAULT_PREFIX,
    Keyspace,
    fresh_token,
    holder_from,
    milliseconds,
    moment,
    setting,
    text,
)
from capomastro_changes.coordination.values import (
    AcquireResult,
    AcquireStatus,
    BusyPolicy,
    Grant,
    LockState,
    ReleaseResult,
    ReleaseStatus,
    Waiter,
)


@guard_public_methods
class DependencyLocks(Keyspace):
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
        self.ttl = float(setting("BUILD_LOCK_TTL", ttl))
        self.waiter_grace = self.ttl if waiter_grace is None else float(waiter_grace)
        milliseconds(self.ttl), milliseconds(self.waiter_grace)  # refuse nonsense at construction
        register = self.client.register_script
        self._acquire = register(scripts.ACQUIRE)
        self._release = register(scripts.RELEASE)
        self._extend = register(scripts.EXTEND)
        self._take_over = register(scripts.TAKE_OVER)
        self._claim = register(scripts.CLAIM_ORPHAN)

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
        return milliseconds(self.ttl if ttl is None else ttl)

    def acquire(
        self, dep, request, policy: BusyPolicy | str = BusyPolicy.QUEUE, ttl: float | None = None
    ) -> AcquireResult:
        """Take the lock for ``request``, or apply the busy policy, in one step.

        Only ``queue`` changes anything when busy: the request becomes the one
        waiter, replacing (and naming) an older one. The other policies report
        BUSY with the holder and leave the recording to the caller.
        """
        policy = BusyPolicy(policy)
        token, queue = fresh_token(), "1" if policy is BusyPolicy.QUEUE else "0"
        reply = self._acquire(
            keys=self._keys(dep),
            args=[token, request, self._ttl_ms(ttl), queue, milliseconds(self.waiter_grace), dep],
        )
        status = AcquireStatus(text(reply[0]))
        grant = None
        if status is AcquireStatus.ACQUIRED:
            grant = Grant(str(dep), str(request), token, int(reply[1]))
        return AcquireResult(status, grant, text(reply[2]), holder_from(reply[3:8], reply[8]))

    def release(self, dep, token: str, ttl: float | None = None) -> ReleaseResult:
        """Release the lock held by ``token``, handing it to the waiting request if any.

        Raises:
            NotHolder: another token holds the lock; it is left untouched.
            LockLost: nobody holds it (it expired); see :meth:`claim_orphaned_waiter`.
        """
        new_token = fresh_token()
        reply = self._release(keys=self._keys(dep), args=[token, new_token, self._ttl_ms(ttl), dep])
        self._refuse(self._keys(dep)[0], reply)
        if text(reply[0]) == "released":
            return ReleaseResult(ReleaseStatus.RELEASED)
        handoff = Grant(str(dep), text(reply[2]), new_token, int(reply[1]))
        return ReleaseResult(ReleaseStatus.HANDED_OFF, handoff)

    def extend(self, dep, token: str, ttl: float | None = None) -> None:
        """Give the lock a full TTL again (Jenkins said the build started, or is running).

        Raises:
            NotHolder: another token holds the lock.
            LockLost: the lock expired: the build may be running unguarded.
        """
        keys = self._keys(dep)[:2]
        reply = self._extend(
            keys=keys, args=[token, self._ttl_ms(ttl), milliseconds(self.waiter_grace)]
        )
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
        new_token = fresh_token()
        reply = self._take_over(
            keys=[lock, fence], args=[token, new_token, request, self._ttl_ms(ttl)]
        )
        self._refuse(lock, reply)
        return Grant(str(dep), str(request), new_token, int(reply[1]))

    def claim_orphaned_waiter(self, dep, ttl: float | None = None) -> Grant | None:
        """Give a free lock to its waiting request (its holder died); None if nothing to do.

        Safe to call from any number of sweepers: exactly one gets the grant.
        """
        new_token = fresh_token()
        reply = self._claim(keys=self._keys(dep), args=[new_token, self._ttl_ms(ttl), dep])
        if text(reply[0]) != "claimed":
            return None
        return Grant(str(dep), text(reply[2]), new_token, int(reply[1]))

    def orphaned_waiters(self) -> list[str]:
        """Dependencies that have a waiting request and (at this moment) no lock.

        A hint for the sweeper, read from a small index without blocking Redis
        (ZSCAN, never KEYS); :meth:`claim_orphaned_waiter` decides atomically.
        """
        deps = [text(m) for m, _ in self.client.zscan_iter(self._key("waiting-index"))]
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
        return {dep: text(token) for dep, token in zip(deps, tokens)}

    def inspect(self, dep) -> LockState:
        """Holder, waiter and last fence of one dependency, read in one transaction."""
        lock, waiting, fence, _ = self._keys(dep)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(lock).pttl(lock).hgetall(waiting).pttl(waiting).get(fence).time()
            held, lock_ttl, wait, wait_ttl, last, (sec, usec) = pipe.execute()
        now = sec * 1000 + usec // 1000
        held = {text(k): v for k, v in held.items()}
        wait = {text(k): v for k, v in wait.items()}
        holder = None
        if held.get("request") is not None:
            fields = [held.get(n) for n in ("request", "token", "fence", "since")]
            holder = holder_from([*fields, lock_ttl], now)
        waiter = None
        if wait.get("request") is not None:
            waiter = Waiter(text(wait["request"]), moment(wait["since"]), moment(now, wait_ttl))
        return LockState(str(dep), holder, waiter, int(last or 0))
