"""Build slots per Jenkins server: a cap on builds in flight that this system started.

A small counting semaphore in Redis (a sorted set of request ids scored by
expiry), so that any number of workers agree on how many builds run. A slot
expires like a build lock does, so a dead worker cannot keep one forever.
"""

from __future__ import annotations

from capomastro_changes.conf import settings
from capomastro_changes.redis_connection import get_redis

_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0
"""

_TRANSFER = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
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
        self._acquire = self.client.register_script(_ACQUIRE)
        self._transfer = self.client.register_script(_TRANSFER)

    def _key(self, server_id) -> str:
        return f"{self.prefix}slots:{server_id}"

    def reserve(self, server_id, request_id, cap: int) -> bool:
        """Take (or renew) a slot for ``request_id``; False when all ``cap`` are taken."""
        if cap <= 0:
            return True
        return bool(self._acquire(keys=[self._key(server_id)], args=[request_id, cap, self.ttl_ms]))

    def release(self, server_id, request_id) -> None:
        """Give the request's slot back (nothing happens if it had none)."""
        self.client.zrem(self._key(server_id), request_id)

    def transfer(self, server_id, from_request, to_request) -> bool:
        """Pass a slot on, as a build lock is handed to the waiting request."""
        keys, args = [self._key(server_id)], [from_request, to_request, self.ttl_ms]
        return bool(self._transfer(keys=keys, args=args))

    def in_use(self, server_id) -> int:
        return int(self.client.zcard(self._key(server_id)))


def cap_for(server) -> int:
    """The cap of a Jenkins server: its own setting, else the global one (0: none)."""
    if server.max_builds_in_flight is not None:
        return int(server.max_builds_in_flight)
    return int(settings.MAX_BUILDS_IN_FLIGHT)
