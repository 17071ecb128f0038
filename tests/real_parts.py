"""Real parts for tests of the engine, whatever its stage: Celery worker processes, the
Jenkins stand-in, the notification endpoint on a live server.

A pytest plugin (named in ``tests/conftest.py``), so every test folder shares one
worker per session.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.db import connection

from capomastro_changes.coordination.connection import broker_url
from capomastro_changes.site.celery import app as celery_app
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.workers import celery_worker, database_url, send_tasks_to

SESSION = uuid.uuid4().hex[:8]
QUEUE = f"test-{SESSION}"
PREFIX = f"test-{SESSION}:"


@pytest.fixture
def engine_settings(settings, redis_url, live_server):
    """The app, the Celery client and every worker on one Redis, one queue, one prefix."""
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = PREFIX
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "git", "http", "https", "bzr")
    settings.CAPOMASTRO_CHANGES_PUBLIC_URL = live_server.url
    send_tasks_to(celery_app, broker_url(redis_url), QUEUE)
    return settings


@pytest.fixture(scope="session")
def worker_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker") / "worker.log"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url, worker_log, live_server):
    """A real Celery worker in its own process (prefork, 2 children) on the test database."""
    with django_db_blocker.unblock():
        database = database_url(connection.settings_dict)
    with celery_worker(
        database=database, redis_url=redis_url, queue=QUEUE, prefix=PREFIX,
        public_url=live_server.url, log_path=worker_log, name=f"test-{SESSION}",
    ) as proc:  # fmt: skip
        yield proc


@pytest.fixture(scope="session")
def second_worker_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker") / "second-worker.log"


@pytest.fixture(scope="session")
def second_worker_process(
    django_db_setup, django_db_blocker, redis_url, second_worker_log, live_server
):
    """Another worker process on the same queue, for tests of several workers at once."""
    with django_db_blocker.unblock():
        database = database_url(connection.settings_dict)
    with celery_worker(
        database=database, redis_url=redis_url, queue=QUEUE, prefix=PREFIX, concurrency=1,
        public_url=live_server.url, log_path=second_worker_log, name=f"second-{SESSION}",
    ) as proc:  # fmt: skip
        yield proc


@pytest.fixture
def spare_worker(engine_settings, django_db_blocker, redis_url, live_server, tmp_path):
    """A worker of this test's own (one child, its own queue), for a test that kills it.

    Tasks the test sends go to it; the shared workers are told nothing.
    """
    queue = f"{QUEUE}-spare-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        database = database_url(connection.settings_dict)
    with celery_worker(
        database=database, redis_url=redis_url, queue=queue, prefix=PREFIX, concurrency=1,
        public_url=live_server.url, log_path=tmp_path / "spare-worker.log", name=queue,
    ) as proc:  # fmt: skip
        send_tasks_to(celery_app, broker_url(redis_url), queue)
        try:
            yield proc
        finally:
            send_tasks_to(celery_app, broker_url(redis_url), QUEUE)


@pytest.fixture
def jenkins():
    """The Jenkins stand-in, no quiet period, two executors."""
    with JenkinsStandIn(quiet_period=0, executors=2) as standin:
        yield standin
