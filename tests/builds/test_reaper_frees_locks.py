"""What the chaos harness and a review found the reaper and the dispatch missing: a
request that ended while Redis was away keeps its lock there (let go now, not hours later
at the TTL); a request whose dispatch was lost, or whose dispatcher died holding its
claim, is dispatched again; a request handed the lock but never started is started; a
state change must count as news; and a late answer moves nothing back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes.builds.reaper import reap
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import RebuildRequest
from capomastro_changes.rebuilds.acceptance import accepted
from capomastro_changes.rebuilds.dispatch import dispatch, let_go
from capomastro_changes.rebuilds.trigger import trigger
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


@pytest.fixture
def locks(redis_client, key_prefix, settings):
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_TRIGGER_STALL_AFTER = 60
    return keyspaces().locks


def ended_holding_lock(locks, dep, state="succeeded", ago=120):
    """A request that took the lock and ended in the database, the release never done."""
    request = RebuildRequest.objects.create(dependency=dep, revision="r1", reason="change")
    grant = locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state=state, lock_token=grant.token, updated_at=timezone.now() - timedelta(seconds=ago)
    )
    return request


def test_a_lock_kept_by_an_ended_request_is_let_go(locks):
    dep = make_dependency()
    ended_holding_lock(locks, dep)
    assert reap()["freed"] == 1
    assert locks.inspect(dep.pk).holder is None
    assert reap()["freed"] == 0


def test_the_request_waiting_behind_it_gets_the_lock(locks):
    dep = make_dependency()
    ended_holding_lock(locks, dep, state="error")
    waiting = RebuildRequest.objects.create(
        dependency=dep, revision="r2", reason="change", state="waiting", waiting_for="lock"
    )
    locks.acquire(dep.pk, waiting.pk)  # queued behind the stale holder
    reap()
    waiting.refresh_from_db()
    assert waiting.state == "triggering"
    assert locks.inspect(dep.pk).holder.request == str(waiting.pk)


def test_a_request_that_just_ended_is_left_to_release_its_own_lock(locks):
    dep = make_dependency()
    ended_holding_lock(locks, dep, ago=1)
    assert reap()["freed"] == 0
    assert locks.inspect(dep.pk).holder is not None


def test_a_lock_that_moved_on_to_another_request_is_not_touched(locks):
    dep = make_dependency()
    old = ended_holding_lock(locks, dep)
    RebuildRequest.objects.filter(pk=old.pk).update(lock_token="a-token-long-replaced")
    assert reap()["freed"] == 0
    assert locks.inspect(dep.pk).holder is not None


def pending_since(dep, ago=120, token=""):
    request = RebuildRequest.objects.create(dependency=dep, revision="r9", reason="change")
    RebuildRequest.objects.filter(pk=request.pk).update(
        lock_token=token, updated_at=timezone.now() - timedelta(seconds=ago)
    )
    return request


@pytest.mark.parametrize("token", ["", "claim:from-a-dispatcher-that-died"])
def test_a_request_whose_dispatch_was_lost_is_dispatched_by_the_reaper(locks, token):
    """Found by the chaos harness: a dispatch task lost in a Redis restart left it pending."""
    dep = make_dependency()
    request = pending_since(dep, token=token)
    assert reap()["undispatched"] == 1
    request.refresh_from_db()
    assert request.state == "triggering"
    assert locks.inspect(dep.pk).holder.request == str(request.pk)


def test_a_request_made_moments_ago_is_left_to_its_own_dispatch(locks):
    dep = make_dependency()
    request = pending_since(dep, ago=1)
    assert reap()["undispatched"] == 0
    request.refresh_from_db()
    assert request.state == "pending"


def test_a_request_handed_the_lock_after_a_long_wait_is_not_a_stalled_trigger(locks):
    dep = make_dependency()
    holder = ended_holding_lock(locks, dep, state="building", ago=0)
    waiting = RebuildRequest.objects.create(
        dependency=dep, revision="r2", reason="change", state="waiting", waiting_for="lock"
    )
    locks.acquire(dep.pk, waiting.pk)
    RebuildRequest.objects.filter(pk=waiting.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )  # it waited an hour for the build before it
    holder.refresh_from_db()
    let_go(holder)  # the build ended: the waiter takes the lock and is being triggered
    assert reap()["asked"] == 0
    waiting.refresh_from_db()
    assert waiting.state == "triggering"


def test_a_waiting_request_left_claimed_by_a_dead_dispatcher_is_dispatched_again(locks):
    """A dispatcher that died between its claim and its answer left a waiting request no
    dispatch could take: with a cap, it held back every request ranked below it."""
    dep = make_dependency()
    request = RebuildRequest.objects.create(
        dependency=dep, revision="r3", reason="change", state="waiting", waiting_for="capacity"
    )
    RebuildRequest.objects.filter(pk=request.pk).update(
        lock_token="claim:from-a-dispatcher-that-died",
        updated_at=timezone.now() - timedelta(hours=1),
    )
    assert reap()["undispatched"] == 1
    request.refresh_from_db()
    assert request.state == "triggering"
    assert locks.inspect(dep.pk).holder.request == str(request.pk)


def test_a_waiting_request_handed_the_lock_but_never_started_is_started_not_discarded(locks):
    """The lock went to it (the build before it ended) and the hand-over died before it
    started it: a second dispatch finds it holding the lock, and starts it."""
    dep = make_dependency(busy_policy="queue")
    request = RebuildRequest.objects.create(
        dependency=dep, revision="r4", reason="change", state="waiting", waiting_for="lock"
    )
    grant = locks.acquire(dep.pk, request.pk).grant  # what the hand-over left it
    dispatch(request.pk)
    request.refresh_from_db()
    assert (request.state, request.lock_token, request.fence) == (
        "triggering", grant.token, grant.fence)  # fmt: skip
    assert locks.inspect(dep.pk).holder.token == grant.token


def test_a_trigger_that_finds_its_lock_expired_gives_its_build_slot_back(locks, settings):
    settings.CAPOMASTRO_CHANGES_MAX_BUILDS_IN_FLIGHT = 1
    dep = make_dependency()
    request = RebuildRequest.objects.create(
        dependency=dep, revision="r5", reason="change", state="triggering", lock_token="gone"
    )
    slots = keyspaces().slots
    assert slots.reserve(dep.job.server_id, request.pk, 1)
    trigger(request.pk)  # its lock expired before the trigger task ran
    request.refresh_from_db()
    assert request.state == "error" and "lock expired" in request.detail
    assert slots.in_use(dep.job.server_id) == 0  # the next request is not held back


def test_a_late_answer_for_a_settled_build_moves_no_newer_revision_back(locks):
    """Its notifications came first and the lock moved on to a newer build, which ended:
    Jenkins' answer to the old trigger, arriving last, must not undo that."""
    dep = make_dependency(last_built_revision="r2")  # what the newer build built
    settled = RebuildRequest.objects.create(
        dependency=dep, revision="r1", previous_revision="r0", reason="change",
        state="succeeded",
    )  # fmt: skip
    assert accepted(settled, queue_id=7)  # kept: it did build
    dep.refresh_from_db()
    assert dep.last_built_revision == "r2"
