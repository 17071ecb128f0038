"""Build slots per Jenkins server: a cap on builds in flight that this system started.

A small counting semaphore in Redis (a sorted set of request ids scored by
expiry), so that any number of workers agree on how many builds run. A slot
expires like a build lock does, so a dead worker cannot keep one forever; it is
renewed with the lock while its build runs.
"""

from __future__ import annotations

from capomastro_changes.conf import settings
from capomastro_changes.redis_connection import get_redis

_NOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""

# KEYS: slots.  ARGV: request, cap, ttl ms, requests ahead (they take a slot first).
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) + tonumber(ARGV[4]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0
"""
)

# KEYS: slots.  ARGV: from request, to request, ttl ms.
_TRANSFER = (
    _NOW
    + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""
)

# KEYS: slots.  ARGV: request, ttl ms.  Only a slot the request still has.
_RENEW = (
    _NOW
    + """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""
)

# KEYS: slots, the dependency's build lock.  ARGV: request.
# A request that was handed the lock (its holder ended meanwhile) keeps the
# slot that came with it: both are read and written in one step.
_RELEASE_UNLESS_HOLDER = """
if redis.call('HGET', KEYS[2], 'request') == ARGV[1] then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""


class BuildSlots:
    """At most ``cap`` requests in flight per server; 0 means no cap.

    Args:
        client: a redis-py client; by default the app's.
        prefix: namespace of the keys.
        ttl: seconds a slot lives without being renewed (the longest build).
    """

    def __init__(self, client=None, prefix: str = "capomastro-changes:", ttl: float | None = None):
        self.client = client or get_redis()
        self.prefix = prefix
        self.ttl_ms = int(1000 * (ttl if ttl is not None else settings.BUILD_LOCK_TTL))
        register = self.client.register_script
        self._acquire = register(_ACQUIRE)
        self._transfer = register(_TRANSFER)
        self._renew = register(_RENEW)
        self._release_unless_holder = register(_RELEASE_UNLESS_HOLDER)

    def _key(self, server_id) -> str:
        return f"{self.prefix}slots:{server_id}"

    def reserve(self, server_id, request_id, cap: int, ahead: int = 0) -> bool:
        """Take (or renew) a slot for ``request_id``; False when none is left for it.

        ``ahead`` counts the requests that should have a slot first (higher
        priority, not started yet): a free slot is theirs, not this one's.
        """
        if cap <= 0:
            return True
        keys, args = [self._key(server_id)], [request_id, cap, self.ttl_ms, max(0, ahead)]
        return bool(self._acquire(keys=keys, args=args))

    def release(self, server_id, request_id) -> None:
        """Give the request's slot back (nothing happens if it had none)."""
        self.client.zrem(self._key(server_id), request_id)

    def release_unless_holder(self, server_id, request_id, lock_key: str) -> bool:
        """Give the slot back unless the request holds the lock at ``lock_key`` now.

        For a request that was only queued behind a build: if that build ended
        in between and handed it the lock (and the slot), the slot stays.
        Returns True if a slot was given back.
        """
        keys = [self._key(server_id), lock_key]
        return bool(self._release_unless_holder(keys=keys, args=[request_id]))

    def renew(self, server_id, request_id) -> bool:
        """Give the request's slot a full life again; False if it has none (it expired)."""
        keys, args = [self._key(server_id)], [request_id, self.ttl_ms]
        return bool(self._renew(keys=keys, args=args))

    def transfer(self, server_id, from_request, to_request) -> bool:
        """Pass a slot on, as a build lock is handed to the waiting request."""
        keys, args = [self._key(server_id)], [from_request, to_request, self.ttl_ms]
        return bool(self._transfer(keys=keys, args=args))

    def holds(self, server_id, request_id) -> bool:
        """True if the request was given a slot (one just expired may still show)."""
        return self.client.zscore(self._key(server_id), request_id) is not None

    def in_use(self, server_id) -> int:
        return int(self.client.zcard(self._key(server_id)))


def cap_for(server) -> int:
    """The cap of a Jenkins server: its own setting, else the global one (0: none)."""
    if server.max_builds_in_flight is not None:
        return int(server.max_builds_in_flight)
    return int(settings.MAX_BUILDS_IN_FLIGHT)
