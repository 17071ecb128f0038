"""Dependency build locks: acquire/release pairs per second against raw Redis commands.

Ours is ``DependencyLocks.acquire`` then ``.release`` (two Lua scripts, each one
round trip). The anchor is the least a lock can cost on the same client: a
raw ``SET NX PX`` then ``DEL``; two ``PING`` round trips (the wire's floor) are
in details. The ratio is a cost ratio: our time per pair ÷ the anchor's.
The goal is on our throughput, since that is what bounds a burst of requests.
"""

from __future__ import annotations

import os
import uuid

from benchmarks.timing import figure, interleaved, median_ms, spread
from capomastro_changes.coordination.locks import AcquireStatus, DependencyLocks

GOAL_PER_S = 2000.0
BLOCKS = 9  # timed blocks per contender; each block makes sizes.lock_pairs / BLOCKS pairs
DEPENDENCIES = 16
TTL = 600.0


def measure(ctx, quick: bool) -> dict:
    """Time blocks of lock pairs, ours and the anchors interleaved, on one client."""
    client = ctx.redis()
    prefix = f"bench:{os.getpid()}:{uuid.uuid4().hex[:8]}:"
    locks = DependencyLocks(client, prefix=prefix, ttl=TTL)
    per_block = max(ctx.sizes.lock_pairs // BLOCKS, 10)
    try:
        samples = interleaved(
            {
                "ours": lambda: _ours(locks, per_block),
                "set_nx_del": lambda: _set_nx_del(client, prefix, per_block),
                "ping_ping": lambda: _pings(client, per_block),
            },
            warmups=1,
            rounds=BLOCKS,
        )
    finally:
        _forget(client, prefix)
    per_pair = {name: [s / per_block for s in values] for name, values in samples.items()}
    ours, raw = (1000.0 / median_ms(per_pair[name]) for name in ("ours", "set_nx_del"))
    return {
        "lock_pairs_per_s": figure(
            ours,
            raw,
            raw / ours,
            unit="pairs/s",
            anchor_is="raw SET NX PX + DEL pairs on the same client",
            goal=f"ours >= {GOAL_PER_S:g}/s",
            met=ours >= GOAL_PER_S,
            pairs_per_block=per_block,
            blocks=BLOCKS,
            per_pair={name: spread(values) for name, values in per_pair.items()},
            ping_pairs_per_s=round(1000.0 / median_ms(per_pair["ping_ping"])),
            redis=ctx.redis_where,
        )
    }


def _ours(locks: DependencyLocks, pairs: int) -> None:
    """Acquire and release ``pairs`` times, over a few dependencies."""
    for n in range(pairs):
        dep = n % DEPENDENCIES
        result = locks.acquire(dep, f"request-{n}")
        if result.status is not AcquireStatus.ACQUIRED:
            raise RuntimeError(f"dependency {dep} was not free: {result}")
        locks.release(dep, result.grant.token)


def _set_nx_del(client, prefix: str, pairs: int) -> None:
    """The least a lock pair can be: set if absent with a TTL, then delete."""
    ttl_ms = int(TTL * 1000)
    for n in range(pairs):
        key = f"{prefix}raw:{n % DEPENDENCIES}"
        if not client.set(key, "token", nx=True, px=ttl_ms):
            raise RuntimeError(f"{key} was not free")
        client.delete(key)


def _pings(client, pairs: int) -> None:
    """Two round trips and nothing else: the wire's floor for a pair."""
    for _ in range(pairs):
        client.ping()
        client.ping()


def _forget(client, prefix: str) -> None:
    """Delete every key this run made (only under its own unique prefix)."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
