"""Dependency locks under contention: threads and processes, handoff, release by token.

Each simulated build appends ``start:<fence>`` and ``end:<fence>`` to a Redis
list while it holds the lock. Redis orders those appends, so two holders at
once would show up as two starts in a row; fences must rise from one build to
the next.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import redis

from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.coordination.values import AcquireStatus, ReleaseStatus

DEP = 42


def build(locks: DependencyLocks, grant, log_key: str) -> list[str]:
    """Run one build under ``grant`` and every build handed to us after it.

    Returns the requests that ran, as the caller that dispatches handoffs would.
    """
    ran = []
    while grant is not None:
        locks.client.rpush(log_key, f"start:{grant.fence}")
        ran.append(grant.request)
        locks.client.rpush(log_key, f"end:{grant.fence}")
        grant = locks.release(grant.dependency, grant.token).handoff
    return ran


def hammer(locks: DependencyLocks, log_key: str, requests) -> tuple[list[str], list[str]]:
    """Ask for a build per request (queue policy); returns (ran, superseded)."""
    ran, superseded = [], []
    for request in requests:
        result = locks.acquire(DEP, request, policy="queue")
        assert result.status is not AcquireStatus.BUSY
        if result.superseded is not None:
            superseded.append(result.superseded)
        if result.grant is not None:
            ran += build(locks, result.grant, log_key)
    return ran, superseded


def hammer_in_process(url: str, prefix: str, crowd: int, requests) -> tuple[list[str], list[str]]:
    """hammer() in a spawned process, with its own connection, once all ``crowd`` are up."""
    with redis.Redis.from_url(url, socket_timeout=10) as client:
        client.incr(prefix + "ready")
        while int(client.get(prefix + "ready")) < crowd:
            time.sleep(0.002)
        return hammer(DependencyLocks(client, prefix=prefix, ttl=30), prefix + "log", requests)


def release_in_process(url: str, prefix: str, token: str) -> tuple[str, str | None]:
    """What the notification view does: release a lock it did not take, by its token."""
    with redis.Redis.from_url(url, socket_timeout=10) as client:
        result = DependencyLocks(client, prefix=prefix, ttl=30).release(DEP, token)
        return result.status.value, result.handoff and result.handoff.request


def assert_one_holder_at_a_time(client, log_key: str) -> list[int]:
    """The fence-ordered log shows builds one after another; returns their fences."""
    log = [entry.decode() for entry in client.lrange(log_key, 0, -1)]
    starts, ends = log[0::2], log[1::2]
    assert all(s.startswith("start:") for s in starts), "two holders at once"
    assert [s.split(":")[1] for s in starts] == [e.split(":")[1] for e in ends]
    fences = [int(s.split(":")[1]) for s in starts]
    assert all(a < b for a, b in zip(fences, fences[1:])), "fences went backwards"
    return fences


def assert_nothing_lost(requests, ran, superseded) -> None:
    """Every request either ran once or was superseded once by a newer one."""
    assert len(ran) == len(set(ran)) and len(superseded) == len(set(superseded))
    assert set(ran).isdisjoint(superseded)
    assert set(ran) | set(superseded) == {str(r) for r in requests}


def test_many_threads_never_see_two_holders_at_once_and_lose_nothing(redis_client, key_prefix):
    locks = DependencyLocks(redis_client, prefix=key_prefix, ttl=30)
    batches = [range(t * 1000, t * 1000 + 60) for t in range(8)]
    outcomes = [None] * len(batches)

    def run(i):
        outcomes[i] = hammer(locks, key_prefix + "log", batches[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ran = [r for outcome in outcomes for r in outcome[0]]
    superseded = [r for outcome in outcomes for r in outcome[1]]
    assert len(assert_one_holder_at_a_time(redis_client, key_prefix + "log")) == len(ran)
    assert_nothing_lost([r for b in batches for r in b], ran, superseded)
    assert superseded, "the threads never contended: the test proved nothing"
    state = locks.inspect(DEP)
    assert state.holder is None and state.waiter is None


@pytest.mark.slow
def test_several_processes_never_see_two_holders_at_once(redis_url, redis_client, key_prefix):
    batches = [range(p * 1000, p * 1000 + 150) for p in range(3)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(batches)) as pool:
        outcomes = pool.starmap(
            hammer_in_process, [(redis_url, key_prefix, len(batches), b) for b in batches]
        )
        pool.close()
        pool.join()

    ran = [r for outcome in outcomes for r in outcome[0]]
    superseded = [r for outcome in outcomes for r in outcome[1]]
    assert len(assert_one_holder_at_a_time(redis_client, key_prefix + "log")) == len(ran)
    assert_nothing_lost([r for b in batches for r in b], ran, superseded)
    assert superseded, "the processes never contended: the test proved nothing"
    assert DependencyLocks(redis_client, prefix=key_prefix, ttl=30).inspect(DEP).holder is None


def test_a_crowd_of_requests_during_a_build_leaves_exactly_one_waiter(redis_client, key_prefix):
    locks = DependencyLocks(redis_client, prefix=key_prefix, ttl=30)
    holder = locks.acquire(DEP, "building").grant
    crowd = [[f"{t}-{n}" for n in range(40)] for t in range(8)]
    superseded = []

    def run(requests):
        for request in requests:
            result = locks.acquire(DEP, request, policy="queue")
            assert result.status is AcquireStatus.QUEUED
            if result.superseded:
                superseded.append(result.superseded)  # list.append is atomic

    threads = [threading.Thread(target=run, args=(requests,)) for requests in crowd]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    survivor = locks.inspect(DEP).waiter.request
    assert_nothing_lost([r for rs in crowd for r in rs], [survivor], superseded)
    handoff = locks.release(DEP, holder.token).handoff
    assert handoff.request == survivor and handoff.fence == holder.fence + 1


@pytest.mark.slow
def test_the_notification_side_releases_a_workers_lock_by_naming_its_token(
    redis_url, redis_client, key_prefix
):
    worker = DependencyLocks(redis_client, prefix=key_prefix, ttl=30)
    grant = worker.acquire(DEP, 100).grant
    worker.acquire(DEP, 101)

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        status, handed_to = pool.apply(release_in_process, (redis_url, key_prefix, grant.token))
        pool.close()
        pool.join()

    assert (status, handed_to) == (ReleaseStatus.HANDED_OFF.value, "101")
    assert worker.inspect(DEP).holder.request == "101"


def test_throughput_of_acquire_and_release_on_one_client_is_reported(
    redis_client, key_prefix, capsys
):
    locks = DependencyLocks(redis_client, prefix=key_prefix, ttl=30)
    pairs, released = 2000, 0
    started = time.perf_counter()
    for n in range(pairs):
        grant = locks.acquire(DEP, n).grant
        released += locks.release(DEP, grant.token).status is ReleaseStatus.RELEASED
    elapsed = time.perf_counter() - started

    with capsys.disabled():
        print(f"\nlock throughput: {pairs / elapsed:,.0f} acquire+release pairs/s on one client")
    assert released == pairs and locks.inspect(DEP).last_fence == pairs
