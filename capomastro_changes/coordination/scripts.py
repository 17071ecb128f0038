"""Every Lua script the app runs in Redis: build locks, leases and build slots, in one place.

Every decision that reads a key and then writes one runs here, inside Redis, so
no other client can act between the read and the write. Scripts call ``TIME``
before writing, which Redis allows because scripts are replicated by effects
(the default since Redis 5).

Reply shapes are flat arrays whose first element is a status word; ``false``
stands for "none" (it reaches Python as ``None``). A holder is described by
five fields: request, token, fence, since (ms), remaining TTL (ms).
"""

from __future__ import annotations

# Helpers shared by the dependency lock scripts. ``grant`` is the only place a
# dependency lock is written: every new holder gets a fresh fence.
_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function holder(lock)
  local h = redis.call('HMGET', lock, 'request', 'token', 'fence', 'since')
  return h[1], h[2], h[3], h[4], redis.call('PTTL', lock)
end

local function grant(lock, fence_key, token, request, ttl)
  local fence = redis.call('INCR', fence_key)
  redis.call('DEL', lock)
  redis.call('HSET', lock, 'token', token, 'request', request,
             'fence', fence, 'since', now_ms())
  redis.call('PEXPIRE', lock, ttl)
  return fence
end

local function refused(lock, token)
  local current = redis.call('HGET', lock, 'token')
  if not current then return {'lost'} end
  if current ~= token then
    local r, t, f, s, p = holder(lock)
    return {'not_holder', r, t, f, s, p, now_ms()}
  end
  return nil
end
"""

# KEYS: lock, waiting, fence, waiting index.
# ARGV: token, request, ttl ms, queue ('1' or '0'), waiter grace ms, dependency.
# A free lock goes to the caller, and an older waiting request (left behind by
# a holder that died) is superseded by it: the newest request wins. A busy lock
# either reports its holder or, with queue, makes the caller the one waiter.
ACQUIRE = (
    _PRELUDE
    + """
local lock, waiting, fence_key, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, request, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local queue, grace, dep = ARGV[4] == '1', tonumber(ARGV[5]), ARGV[6]

local function supersede_waiter()
  local old = redis.call('HGET', waiting, 'request')
  if old == request then old = false end
  redis.call('DEL', waiting)
  return old
end

if redis.call('EXISTS', lock) == 0 then
  local old = supersede_waiter()
  redis.call('ZREM', index, dep)
  local fence = grant(lock, fence_key, token, request, ttl)
  return {'acquired', fence, old, false, false, false, false, false, now_ms()}
end

local r, t, f, s, p = holder(lock)
local now = now_ms()
-- A request that already holds the lock (a redelivered task) never waits
-- behind itself.
if not queue or r == request then
  return {'busy', false, false, r, t, f, s, p, now}
end
local old = supersede_waiter()
redis.call('HSET', waiting, 'request', request, 'since', now)
if p < 0 then p = ttl end
redis.call('PEXPIRE', waiting, p + grace)
redis.call('ZADD', index, now, dep)
return {'queued', false, old, r, t, f, s, p, now}
"""
)

# KEYS: lock, waiting, fence, waiting index.  ARGV: token, new token, ttl ms, dependency.
# The lock is never free between holder and waiter: the handoff is one step.
RELEASE = (
    _PRELUDE
    + """
local lock, waiting, fence_key, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, new_token, ttl, dep = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local no = refused(lock, token)
if no then return no end
local waiter = redis.call('HGET', waiting, 'request')
if waiter then
  redis.call('DEL', waiting)
  redis.call('ZREM', index, dep)
  return {'handed_off', grant(lock, fence_key, new_token, waiter, ttl), waiter}
end
redis.call('DEL', lock)
return {'released'}
"""
)

# KEYS: lock, waiting.  ARGV: token, ttl ms, waiter grace ms.
# The waiting request's own TTL follows the lock's, so it outlives it by grace.
EXTEND = (
    _PRELUDE
    + """
local lock, waiting = KEYS[1], KEYS[2]
local token, ttl, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local no = refused(lock, token)
if no then return no end
redis.call('PEXPIRE', lock, ttl)
if redis.call('EXISTS', waiting) == 1 then
  redis.call('PEXPIRE', waiting, ttl + grace)
end
return {'extended'}
"""
)

# KEYS: lock, fence.  ARGV: holder's token, new token, new request, ttl ms.
# For the supersede policy: the named holder is replaced in one step, so a
# holder that changed meanwhile (its build started, it was released) is safe.
TAKE_OVER = (
    _PRELUDE
    + """
local lock, fence_key = KEYS[1], KEYS[2]
local no = refused(lock, ARGV[1])
if no then return no end
return {'taken', grant(lock, fence_key, ARGV[2], ARGV[3], tonumber(ARGV[4]))}
"""
)

# KEYS: lock, waiting, fence, waiting index.  ARGV: new token, ttl ms, dependency.
# Only a waiter with no lock above it is orphaned; a stale index entry is
# dropped here, atomically, rather than by a separate (racy) clean-up.
CLAIM_ORPHAN = (
    _PRELUDE
    + """
local lock, waiting, fence_key, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', lock) == 1 then return {'held'} end
redis.call('ZREM', index, ARGV[3])
local waiter = redis.call('HGET', waiting, 'request')
if not waiter then return {'none'} end
redis.call('DEL', waiting)
return {'claimed', grant(lock, fence_key, ARGV[1], waiter, tonumber(ARGV[2])), waiter}
"""
)

# Plain string locks (check locks, beat leadership). KEYS: key.
# Reply: 1 done, 0 the key is gone, -1 someone else holds it.
COMPARE_AND_DELETE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
"""

# ARGV: token, ttl ms.  Same replies as COMPARE_AND_DELETE.
COMPARE_AND_EXPIRE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# ARGV: holder, ttl ms.  Take the key if free, refresh it if already ours.
# Reply: 1 we hold it, 0 someone else does.
ACQUIRE_OR_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


# Build slots: a sorted set of request ids per Jenkins server, scored by expiry.
_SLOT_NOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""

# KEYS: slots.  ARGV: request, cap, ttl ms, requests ahead (they take a slot first).
SLOT_ACQUIRE = (
    _SLOT_NOW
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
SLOT_TRANSFER = (
    _SLOT_NOW
    + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""
)

# KEYS: slots.  ARGV: request, ttl ms.  Only a slot the request still has.
SLOT_RENEW = (
    _SLOT_NOW
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
SLOT_RELEASE_UNLESS_HOLDER = """
if redis.call('HGET', KEYS[2], 'request') == ARGV[1] then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""
