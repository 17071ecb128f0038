"""Short leases in Redis: the per-source check lock and the beat leader guard.

Simple string keys with a token, compare-and-act in Lua; they share the key
space and misuse errors of the dependency build locks in :mod:`.locks`.
"""

from __future__ import annotations

from capomastro_changes.coordination import scripts
from capomastro_changes.coordination.errors import LockLost, NotHolder, guard_public_methods
from capomastro_changes.coordination.keyspace import (
    DEFAULT_PREFIX,
    Keyspace,
    fresh_token,
    milliseconds,
    setting,
    text,
)


@guard_public_methods
class CheckLocks(Keyspace):
    """Short per-source locks, so two ticks never probe one source at once."""

    def __init__(self, client=None, prefix: str = DEFAULT_PREFIX, ttl: float | None = None):
        super().__init__(client, prefix)
        self.ttl_ms = milliseconds(float(setting("CHECK_LOCK_TTL", ttl)))
        self._release = self.client.register_script(scripts.COMPARE_AND_DELETE)

    def acquire(self, source) -> str | None:
        """The token of a fresh check lock on ``source``, or None if a check is running."""
        token = fresh_token()
        taken = self.client.set(self._key("check", source), token, nx=True, px=self.ttl_ms)
        return token if taken else None

    def acquire_many(self, sources) -> dict:
        """Check locks on many sources in one round trip: ``{source: token}`` for those taken.

        The locks stay one per source, so a push or "check now" of one of them
        still waits for this check; only the asking is batched.
        """
        sources = list(sources)
        tokens = [fresh_token() for _ in sources]
        pipe = self.client.pipeline(transaction=False)
        for source, token in zip(sources, tokens, strict=True):
            pipe.set(self._key("check", source), token, nx=True, px=self.ttl_ms)
        taken = pipe.execute()
        return {s: t for s, t, ok in zip(sources, tokens, taken, strict=True) if ok}

    def release_many(self, held: dict) -> list[str]:
        """Free many check locks in one round trip; the keys this batch no longer held."""
        pipe = self.client.pipeline(transaction=False)
        keys = [self._key("check", source) for source in held]
        for key, token in zip(keys, held.values(), strict=True):
            self._release(keys=[key], args=[token], client=pipe)
        return [key for key, reply in zip(keys, pipe.execute(), strict=True) if reply != 1]

    def release(self, source, token: str) -> None:
        """Free the check lock, if this token still holds it.

        Raises:
            NotHolder: another check holds it now (ours outlived its TTL).
            LockLost: it expired and nobody holds it.
        """
        key = self._key("check", source)
        _string_lock_verdict(key, self._release(keys=[key], args=[token]))


@guard_public_methods
class Leadership(Keyspace):
    """Leader guard for beat: only the holder of a name does work that must not run twice."""

    def __init__(self, client=None, prefix: str = DEFAULT_PREFIX):
        super().__init__(client, prefix)
        self._claim = self.client.register_script(scripts.ACQUIRE_OR_RENEW)
        self._renew = self.client.register_script(scripts.COMPARE_AND_EXPIRE)
        self._resign = self.client.register_script(scripts.COMPARE_AND_DELETE)

    def acquire_leadership(self, name: str, holder: str, ttl: float) -> bool:
        """True if ``holder`` leads ``name`` now (taken, or kept and refreshed)."""
        key = self._key("leader", name)
        return bool(self._claim(keys=[key], args=[holder, milliseconds(ttl)]))

    def renew_leadership(self, name: str, holder: str, ttl: float) -> None:
        """Keep leading, strictly: a leader that lost its lease must stop, not re-take it.

        Raises:
            NotHolder: another process leads now.
            LockLost: the lease expired.
        """
        key = self._key("leader", name)
        _string_lock_verdict(key, self._renew(keys=[key], args=[holder, milliseconds(ttl)]))

    def resign_leadership(self, name: str, holder: str) -> bool:
        """Step down (on shutdown) so another beat takes over at once; False if not leader."""
        key = self._key("leader", name)
        return self._resign(keys=[key], args=[holder]) == 1

    def leader(self, name: str) -> str | None:
        """Who leads ``name``, for the admin and the logs."""
        return text(self.client.get(self._key("leader", name)))


def _string_lock_verdict(key: str, reply: int) -> None:
    """Turn a compare-and-act reply into the misuse it reports (1 means done)."""
    if reply == 0:
        raise LockLost(key)
    if reply == -1:
        raise NotHolder(key)
