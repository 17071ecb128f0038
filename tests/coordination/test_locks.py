"""Dependency build locks, check locks and the beat leader guard, against a real Redis."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
import redis

from capomastro_changes.coordination.errors import LockError, LockLost, NotHolder
from capomastro_changes.coordination.leases import CheckLocks, Leadership
from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.coordination.values import AcquireStatus, ReleaseStatus

DEP = 7


@pytest.fixture
def locks(redis_client, key_prefix):
    return DependencyLocks(redis_client, prefix=key_prefix, ttl=30)


def same_lock_state(now, before) -> bool:
    """Equal lock states, expiries to within a few milliseconds.

    An expiry is read as Redis' clock plus the key's remaining TTL, two
    millisecond readings that may straddle a tick: the same expiry can read one
    millisecond apart from one look to the next.
    """
    pairs = [(now.holder, before.holder), (now.waiter, before.waiter)]
    for ours, theirs in pairs:
        if (ours is None) != (theirs is None):
            return False
        if ours and abs(ours.expires_at - theirs.expires_at) > timedelta(milliseconds=5):
            return False

    def blank(part):
        return part and replace(part, expires_at=None)

    return replace(now, holder=blank(now.holder), waiter=blank(now.waiter)) == replace(
        before, holder=blank(before.holder), waiter=blank(before.waiter)
    )


def short_locks(redis_client, key_prefix, ttl=0.05, waiter_grace=None):
    """Locks that expire within a test, to play a holder that died."""
    return DependencyLocks(redis_client, prefix=key_prefix, ttl=ttl, waiter_grace=waiter_grace)


def test_a_free_dependency_is_taken_with_its_own_token_and_a_fence(locks):
    result = locks.acquire(DEP, 100)

    assert result.status is AcquireStatus.ACQUIRED
    assert result.grant.request == "100" and result.grant.dependency == str(DEP)
    assert len(result.grant.token) == 32 and result.grant.fence == 1
    assert locks.inspect(DEP).holder.token == result.grant.token


@pytest.mark.parametrize("policy", ["discard", "fail", "supersede"])
def test_a_request_while_building_is_busy_and_names_the_holder(locks, policy):
    first = locks.acquire(DEP, 100).grant

    result = locks.acquire(DEP, 101, policy=policy)

    assert result.status is AcquireStatus.BUSY and result.grant is None
    assert (result.holder.request, result.holder.token) == ("100", first.token)
    assert result.holder.fence == first.fence
    assert locks.inspect(DEP).waiter is None


def test_a_second_build_request_while_building_waits_and_only_the_newest_waits(locks):
    locks.acquire(DEP, 100)

    results = [locks.acquire(DEP, request, policy="queue") for request in (101, 102, 103)]

    assert [r.status for r in results] == [AcquireStatus.QUEUED] * 3
    assert [r.superseded for r in results] == [None, "101", "102"]
    assert locks.inspect(DEP).waiter.request == "103"


def test_a_redelivered_request_that_holds_the_lock_does_not_wait_behind_itself(locks):
    locks.acquire(DEP, 100)

    again = locks.acquire(DEP, 100, policy="queue")

    assert again.status is AcquireStatus.BUSY and again.holder.request == "100"
    assert locks.inspect(DEP).waiter is None


def test_release_hands_the_lock_to_the_waiting_request_with_a_newer_fence(locks):
    first = locks.acquire(DEP, 100).grant
    locks.acquire(DEP, 101)

    result = locks.release(DEP, first.token)

    assert result.status is ReleaseStatus.HANDED_OFF
    handoff = result.handoff
    assert handoff.request == "101" and handoff.fence > first.fence
    assert handoff.token != first.token
    state = locks.inspect(DEP)
    assert state.holder.token == handoff.token and state.waiter is None
    assert locks.acquire(DEP, 102, policy="discard").status is AcquireStatus.BUSY


def test_release_without_a_waiter_frees_the_dependency(locks):
    first = locks.acquire(DEP, 100).grant

    assert locks.release(DEP, first.token).status is ReleaseStatus.RELEASED
    assert locks.inspect(DEP).holder is None
    assert locks.acquire(DEP, 101).status is AcquireStatus.ACQUIRED


def test_a_release_with_a_wrong_or_old_token_is_refused_and_changes_nothing(locks):
    first = locks.acquire(DEP, 100).grant
    locks.acquire(DEP, 101)
    current = locks.release(DEP, first.token).handoff
    locks.acquire(DEP, 102)
    before = locks.inspect(DEP)

    for token in ("not-a-token", first.token):
        with pytest.raises(NotHolder) as refused:
            locks.release(DEP, token)
        assert not isinstance(refused.value, LockLost)
        assert refused.value.holder.token == current.token

    assert same_lock_state(locks.inspect(DEP), before)


def test_extend_by_a_non_holder_is_refused_and_the_holder_keeps_its_expiry(locks):
    locks.acquire(DEP, 100)
    before = locks.inspect(DEP)

    with pytest.raises(NotHolder):
        locks.extend(DEP, "someone-else", ttl=3600)

    assert abs(locks.inspect(DEP).holder.expires_at - before.holder.expires_at) < timedelta(
        milliseconds=5
    )  # not a second longer: the refused extend by an hour did nothing


def test_extend_gives_the_holder_a_full_ttl_again(redis_client, key_prefix):
    locks = short_locks(redis_client, key_prefix, ttl=0.5)
    grant = locks.acquire(DEP, 100).grant
    locks.acquire(DEP, 101)

    locks.extend(DEP, grant.token, ttl=60)

    state = locks.inspect(DEP)
    assert (state.holder.expires_at - state.holder.since).total_seconds() > 55
    assert (state.waiter.expires_at - state.holder.expires_at).total_seconds() >= 0.4


def test_an_expired_lock_is_free_again_and_its_old_holder_is_told(redis_client, key_prefix):
    locks = short_locks(redis_client, key_prefix)
    old = locks.acquire(DEP, 100).grant
    time.sleep(0.12)

    with pytest.raises(LockLost):
        locks.extend(DEP, old.token)
    new = locks.acquire(DEP, 101).grant
    assert new is not None and new.fence > old.fence
    with pytest.raises(NotHolder):
        locks.release(DEP, old.token)
    assert locks.inspect(DEP).holder.request == "101"


def test_an_orphaned_waiter_is_claimed_exactly_once(redis_client, key_prefix):
    locks = short_locks(redis_client, key_prefix, waiter_grace=30)
    old = locks.acquire(DEP, 100).grant
    locks.acquire(DEP, 101)
    time.sleep(0.12)
    sweepers = [DependencyLocks(redis_client, prefix=key_prefix, ttl=30) for _ in range(3)]

    assert sweepers[0].orphaned_waiters() == [str(DEP)]
    grants = [s.claim_orphaned_waiter(DEP) for s in sweepers]

    claimed = [g for g in grants if g is not None]
    assert len(claimed) == 1
    assert claimed[0].request == "101" and claimed[0].fence > old.fence
    assert locks.inspect(DEP).holder.token == claimed[0].token
    assert sweepers[0].orphaned_waiters() == []


def test_a_waiter_whose_holder_is_alive_is_not_claimed(locks):
    locks.acquire(DEP, 100)
    locks.acquire(DEP, 101)

    assert locks.orphaned_waiters() == []
    assert locks.claim_orphaned_waiter(DEP) is None
    assert locks.inspect(DEP).waiter.request == "101"


def test_a_new_request_on_a_free_lock_supersedes_a_left_behind_waiter(redis_client, key_prefix):
    locks = short_locks(redis_client, key_prefix, waiter_grace=30)
    locks.acquire(DEP, 100)
    locks.acquire(DEP, 101)
    time.sleep(0.12)

    result = locks.acquire(DEP, 102)

    assert result.status is AcquireStatus.ACQUIRED and result.superseded == "101"
    assert locks.inspect(DEP).waiter is None and locks.claim_orphaned_waiter(DEP) is None


def test_a_waiting_request_expires_on_its_own_after_its_lock_and_grace(redis_client, key_prefix):
    locks = short_locks(redis_client, key_prefix, ttl=0.05, waiter_grace=0.05)
    locks.acquire(DEP, 100)
    locks.acquire(DEP, 101)
    time.sleep(0.2)

    assert locks.inspect(DEP).waiter is None
    assert locks.claim_orphaned_waiter(DEP) is None
    assert locks.orphaned_waiters() == []


def test_fences_strictly_increase_over_acquire_handoff_takeover_and_claim(redis_client, key_prefix):
    locks = DependencyLocks(redis_client, prefix=key_prefix, ttl=30)
    grants = [locks.acquire(DEP, 1).grant]
    locks.acquire(DEP, 2)
    grants.append(locks.release(DEP, grants[-1].token).handoff)
    grants.append(locks.take_over(DEP, grants[-1].token, 3))
    locks.acquire(DEP, 4)
    grants.append(locks.release(DEP, grants[-1].token, ttl=0.05).handoff)  # 4 builds, then dies
    locks.acquire(DEP, 5)
    time.sleep(0.12)
    grants.append(locks.claim_orphaned_waiter(DEP))
    locks.release(DEP, grants[-1].token)
    grants.append(locks.acquire(DEP, 6).grant)

    assert [g.request for g in grants] == ["1", "2", "3", "4", "5", "6"]
    fences = [g.fence for g in grants]
    assert all(a < b for a, b in zip(fences, fences[1:]))
    assert locks.inspect(DEP).last_fence == fences[-1]


def test_supersede_takes_over_only_from_the_holder_it_named(locks):
    first = locks.acquire(DEP, 100).grant
    busy = locks.acquire(DEP, 101, policy="supersede")

    grant = locks.take_over(DEP, busy.holder.token, 101)

    assert grant.request == "101" and grant.fence > first.fence
    assert locks.inspect(DEP).holder.token == grant.token
    with pytest.raises(NotHolder):
        locks.take_over(DEP, first.token, 102)  # the holder it saw is gone
    with pytest.raises(NotHolder):
        locks.release(DEP, first.token)


def test_the_admin_sees_holder_waiter_fence_and_expiry(locks):
    grant = locks.acquire(DEP, 100).grant
    locks.acquire(DEP, 101)

    state = locks.inspect(DEP)

    assert (state.holder.request, state.holder.fence, state.last_fence) == ("100", 1, 1)
    # The TTL after the holder came, to Redis' clock: its millisecond roundings may add one.
    assert 29 < (state.holder.expires_at - state.holder.since).total_seconds() <= 30.002
    assert state.waiter.request == "101" and state.waiter.since >= state.holder.since
    assert state.waiter.expires_at > state.holder.expires_at
    assert locks.inspect(DEP + 1).holder is None and grant.token


def test_sites_sharing_a_redis_do_not_see_each_others_locks(redis_client, key_prefix):
    ours = DependencyLocks(redis_client, prefix=key_prefix + "a:", ttl=30)
    theirs = DependencyLocks(redis_client, prefix=key_prefix + "b:", ttl=30)
    ours.acquire(DEP, 100)

    assert theirs.acquire(DEP, 200).status is AcquireStatus.ACQUIRED
    assert [key.decode() for key in redis_client.scan_iter(key_prefix + "b:*")]


def test_nonsense_settings_are_refused_up_front(redis_client, key_prefix, locks):
    with pytest.raises(ValueError):
        DependencyLocks(redis_client, prefix=key_prefix, ttl=0)
    with pytest.raises(ValueError):
        locks.acquire(DEP, 100, policy="sometimes")
    with pytest.raises(ValueError):
        locks.acquire(DEP, 100, ttl=-1)
    assert locks.inspect(DEP).holder is None


def test_defaults_come_from_the_app_settings_and_redis(redis_client, key_prefix, settings):
    settings.CAPOMASTRO_CHANGES_BUILD_LOCK_TTL = 90
    locks = DependencyLocks(prefix=key_prefix)

    locks.acquire(DEP, 100)

    assert locks.ttl == 90 and locks.waiter_grace == 90
    assert redis_client.pttl(f"{key_prefix}dep:{DEP}:lock") > 89_000


def test_a_client_that_decodes_replies_works_the_same(redis_url, key_prefix):
    with redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10) as client:
        locks = DependencyLocks(client, prefix=key_prefix, ttl=30)
        first = locks.acquire(DEP, 100).grant
        locks.acquire(DEP, 101)
        handoff = locks.release(DEP, first.token).handoff
        assert handoff.request == "101" and locks.inspect(DEP).holder.token == handoff.token


def test_two_checks_of_one_source_never_run_at_once(redis_client, key_prefix):
    checks = CheckLocks(redis_client, prefix=key_prefix, ttl=30)
    token = checks.acquire("source-1")

    assert token and checks.acquire("source-1") is None
    assert checks.acquire("source-2") is not None
    with pytest.raises(NotHolder):
        checks.release("source-1", "stale")
    checks.release("source-1", token)
    again = checks.acquire("source-1")
    assert again is not None
    with pytest.raises(NotHolder):
        checks.release("source-1", token)  # the next check's lock is not ours to free
    checks.release("source-1", again)
    with pytest.raises(LockLost):
        checks.release("source-1", again)


def test_a_check_lock_left_by_a_dead_worker_frees_itself(redis_client, key_prefix):
    checks = CheckLocks(redis_client, prefix=key_prefix, ttl=0.05)
    checks.acquire("source-1")
    time.sleep(0.12)

    assert checks.acquire("source-1") is not None


def test_only_one_beat_leads_and_a_lost_lease_is_not_silently_retaken(redis_client, key_prefix):
    guard = Leadership(redis_client, prefix=key_prefix)

    assert guard.acquire_leadership("beat", "host-a:1", ttl=30)
    assert not guard.acquire_leadership("beat", "host-b:2", ttl=30)
    assert guard.acquire_leadership("beat", "host-a:1", ttl=30)  # kept and refreshed
    with pytest.raises(NotHolder):
        guard.renew_leadership("beat", "host-b:2", ttl=30)
    assert guard.leader("beat") == "host-a:1"
    assert guard.resign_leadership("beat", "host-a:1")
    assert not guard.resign_leadership("beat", "host-a:1")
    assert guard.acquire_leadership("beat", "host-b:2", ttl=0.05)
    time.sleep(0.12)
    with pytest.raises(LockLost):
        guard.renew_leadership("beat", "host-b:2", ttl=30)
    assert guard.leader("beat") is None


def test_every_misuse_is_a_lock_error_of_its_own_kind():
    assert issubclass(LockLost, NotHolder) and issubclass(NotHolder, LockError)
    assert "nobody" in str(LockLost("k")) and "request 5" not in str(LockLost("k"))
