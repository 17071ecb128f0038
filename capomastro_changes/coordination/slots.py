"""Build slots per Jenkins server: a cap on builds in flight that this system started.

A small counting semaphore in Redis (a sorted set of request ids scored by
expiry), so that any number of workers agree on how many builds run. A slot
expires like a build lock does, so a dead worker cannot keep one forever; it is
renewed with the lock while its build runs.
"""

from __future__ import annotations

from capomastro_changes.coordination import scripts
from capomastro_changes.coordination.errors import guard_public_methods
from capomastro_changes.coordination.keyspace import DEFAULT_PREFIX, Keyspace, setting


@guard_public_methods
class BuildSlots(Keyspace):
    """At most ``cap`` requests in flight per server; 0 means no cap.

    Args:
        client: a redis-py client; by default the app's.
        prefix: namespace of the keys.
        ttl: seconds a slot lives without being renewed (the longest build).
    """

    def __init__(self, client=None, prefix: str = DEFAULT_PREFIX, ttl: float | None = None):
        super().__init__(client, prefix)
        self.ttl_ms = int(1000 * float(setting("BUILD_LOCK_TTL", ttl)))
        register = self.client.register_script
        self._acquire = register(scripts.SLOT_ACQUIRE)
        self._transfer = register(scripts.SLOT_TRANSFER)
        self._renew = register(scripts.SLOT_RENEW)
        self._release_unless_holder = register(scripts.SLOT_RELEASE_UNLESS_HOLDER)

    def _slots_key(self, server_id) -> str:
        return self._key("slots", server_id)

    def reserve(self, server_id, request_id, cap: int, ahead: int = 0) -> bool:
        """Take (or renew) a slot for ``request_id``; False when none is left for it.

        ``ahead`` counts the requests that should have a slot first (higher
        priority, not started yet): a free slot is theirs, not this one's.
        """
        if cap <= 0:
            return True
        keys, args = [self._slots_key(server_id)], [request_id, cap, self.ttl_ms, max(0, ahead)]
        return bool(self._acquire(keys=keys, args=args))

    def release(self, server_id, request_id) -> None:
        """Give the request's slot back (nothing happens if it had none)."""
        self.client.zrem(self._slots_key(server_id), request_id)

    def release_unless_holder(self, server_id, request_id, lock_key: str) -> bool:
        """Give the slot back unless the request holds the lock at ``lock_key`` now.

        For a request that was only queued behind a build: if that build ended
        in between and handed it the lock (and the slot), the slot stays.
        Returns True if a slot was given back.
        """
        keys = [self._slots_key(server_id), lock_key]
        return bool(self._release_unless_holder(keys=keys, args=[request_id]))

    def renew(self, server_id, request_id) -> bool:
        """Give the request's slot a full life again; False if it has none (it expired)."""
        keys, args = [self._slots_key(server_id)], [request_id, self.ttl_ms]
        return bool(self._renew(keys=keys, args=args))

    def transfer(self, server_id, from_request, to_request) -> bool:
        """Pass a slot on, as a build lock is handed to the waiting request."""
        keys, args = [self._slots_key(server_id)], [from_request, to_request, self.ttl_ms]
        return bool(self._transfer(keys=keys, args=args))

    def holds(self, server_id, request_id) -> bool:
        """True if the request was given a slot (one just expired may still show)."""
        return self.client.zscore(self._slots_key(server_id), request_id) is not None

    def in_use(self, server_id) -> int:
        return int(self.client.zcard(self._slots_key(server_id)))
