"""Build slots stay with the builds that use them: a request handed the lock while it was
only queueing keeps the slot that came with it; a running build renews its slot with its
lock; a lock handed to a request that ended gives its slot back."""

import time
import uuid

import pytest
from django.db import connection

from capomastro_changes.builds.events import keep_lock
from capomastro_changes.coordination.connection import broker_url
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import RebuildRequest
from capomastro_changes.rebuilds.dispatch import let_go
from capomastro_changes.site.celery import app as celery_app
from capomastro_changes.testing.engine_step import run_step
from capomastro_changes.testing.factories import make_dependency, make_job, make_server
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.slow_link import slow_link
from capomastro_changes.testing.workers import database_url, send_tasks_to


@pytest.fixture
def coordinated(redis_url, redis_client, key_prefix, settings):
    """Locks and slots under a prefix of this test; tasks it sends go to a queue nobody reads."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    nowhere = f"nowhere-{uuid.uuid4().hex[:8]}"
    send_tasks_to(celery_app, broker_url(redis_url), nowhere)
    yield keyspaces()
    redis_client.delete(nowhere)


def holding(dep, state="building", cap=2):
    """A request that holds the dependency's lock and a slot of its server."""
    locks, _, slots = keyspaces()
    request = RebuildRequest.objects.create(dependency=dep, revision="r1", reason="change")
    grant = locks.acquire(dep.pk, request.pk).grant
    assert slots.reserve(dep.job.server_id, request.pk, cap)
    RebuildRequest.objects.filter(pk=request.pk).update(
        state=state, lock_token=grant.token, fence=grant.fence
    )
    request.refresh_from_db()
    return request


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_request_handed_the_lock_while_it_queued_keeps_the_slot_that_came_with_it(
    coordinated, redis_url, key_prefix
):
    locks, _, slots = coordinated
    dep = make_dependency(job=make_job(server=make_server(max_builds_in_flight=2)))
    server = dep.job.server_id
    build = holding(dep)
    queued = RebuildRequest.objects.create(dependency=dep, revision="r2", reason="change")
    with slow_link(redis_url, delay=0.4) as slow_redis:  # a dispatcher far from Redis
        dispatcher = run_step(
            "dispatch", str(queued.pk), database=database_url(connection.settings_dict),
            redis_url=slow_redis, prefix=key_prefix,
        )  # fmt: skip
        waiter = lambda: locks.inspect(dep.pk).waiter  # noqa: E731
        wait_until(lambda: waiter() and waiter().request == str(queued.pk), timeout=20)
        let_go(build)  # the build ends while the dispatcher is between two steps
        assert dispatcher.wait(timeout=30) == 0, dispatcher.stdout.read().decode()
        dispatcher.stdout.close()
    queued.refresh_from_db()
    assert queued.state == "triggering"
    assert slots.holds(server, queued.pk) and slots.in_use(server) == 1


@pytest.mark.django_db
def test_a_running_build_keeps_its_slot_as_long_as_its_lock(coordinated, settings):
    settings.CAPOMASTRO_CHANGES_BUILD_LOCK_TTL = 1
    dep = make_dependency(job=make_job(server=make_server(max_builds_in_flight=1)))
    build = holding(dep, cap=1)
    for _ in range(3):  # Jenkins reports progress, past the slot's first life
        time.sleep(0.6)
        keep_lock(build)
    locks, _, slots = keyspaces()
    assert locks.inspect(dep.pk).holder.request == str(build.pk)
    assert not slots.reserve(dep.job.server_id, "another", 1)


@pytest.mark.django_db
def test_a_lock_handed_to_a_request_that_ended_gives_its_slot_back(coordinated):
    locks, _, slots = coordinated
    dep = make_dependency(job=make_job(server=make_server(max_builds_in_flight=1)))
    build = holding(dep, cap=1)
    gone = RebuildRequest.objects.create(
        dependency=dep, revision="r2", reason="change", state="cancelled"
    )
    locks.acquire(dep.pk, gone.pk)  # it waited for the lock, then was cancelled
    let_go(build)
    assert locks.inspect(dep.pk).holder is None
    assert slots.in_use(dep.job.server_id) == 0
