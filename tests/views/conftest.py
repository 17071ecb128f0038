"""Real parts for the endpoints: an API token, a Redis keyspace per test, and for the
metrics of several processes a Celery worker in multiprocess mode."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.db import connection

from capomastro_changes.coordination.connection import broker_url
from capomastro_changes.site.celery import app as celery_app
from capomastro_changes.testing.workers import (
    celery_worker,
    database_url,
    forget_broker_connections,
    send_tasks_to,
)

TOKEN = "endpoint-token-" + "x" * 24
SESSION = uuid.uuid4().hex[:8]
QUEUE = f"metrics-{SESSION}"
PREFIX = f"metrics-{SESSION}:"


@pytest.fixture
def api_token(settings) -> str:
    """The one API token the endpoints accept in this test."""
    settings.CAPOMASTRO_CHANGES_API_TOKENS = [TOKEN]
    return TOKEN


@pytest.fixture
def auth(api_token) -> dict[str, str]:
    """Headers for the Django test client carrying the right token."""
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def locks_here(redis_client, key_prefix, settings):
    """The app's locks on the session's Redis, in a keyspace of this test's own."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    return key_prefix


@pytest.fixture(scope="session")
def metrics_dir(tmp_path_factory) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR the metrics worker writes to."""
    return tmp_path_factory.mktemp("prometheus")


@pytest.fixture(scope="session")
def metrics_worker(
    django_db_setup, django_db_blocker, redis_url, live_server, metrics_dir, tmp_path_factory
):
    """A Celery worker (prefork, 2 children) in prometheus_client's multiprocess mode."""
    with django_db_blocker.unblock():
        database = database_url(connection.settings_dict)
    with celery_worker(
        database=database, redis_url=redis_url, queue=QUEUE, prefix=PREFIX,
        public_url=live_server.url, name=f"metrics-{SESSION}",
        log_path=tmp_path_factory.mktemp("metrics-worker") / "worker.log",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    ) as proc:  # fmt: skip
        yield proc


@pytest.fixture
def on_metrics_worker(settings, redis_url, live_server, metrics_worker, metrics_dir, monkeypatch):
    """Tasks go to the metrics worker; scrapes here read its multiprocess directory."""
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = PREFIX
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "git", "http", "https", "bzr")
    settings.CAPOMASTRO_CHANGES_PUBLIC_URL = live_server.url
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    saved = {k: celery_app.conf[k] for k in ("broker_url", "task_default_queue")}
    saved["task_always_eager"] = celery_app.conf.task_always_eager
    send_tasks_to(celery_app, broker_url(redis_url), QUEUE)
    yield settings
    celery_app.conf.update(saved)
    forget_broker_connections(celery_app)


def metric_values(text: str) -> dict[tuple, float]:
    """Samples of a Prometheus text page, by (name, sorted label pairs)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(client, auth):
    """Read the metrics endpoint through the Django test client, as samples."""

    def read() -> dict[tuple, float]:
        response = client.get("/changes/metrics/", headers=auth)
        assert response.status_code == 200
        return metric_values(response.content.decode())

    return read
