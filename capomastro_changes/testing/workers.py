"""A real Celery worker process for tests and harnesses, on a given database and Redis."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def database_url(settings_dict: dict) -> str:
    """A Django database's settings as a URL another process can open (``DATABASE_URL``)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}{host}:{settings_dict.get('PORT') or 5432}/{settings_dict['NAME']}"


def send_tasks_to(app, broker: str, queue: str) -> None:
    """Make this process's Celery client publish to ``broker`` and ``queue``, eagerly never.

    Celery keeps the broker connection pool it opened first, even when
    ``broker_url`` changes afterwards (and opens one even for an eager task):
    the pools are dropped here, so the next task goes where it is told.
    """
    app.conf.broker_url = broker
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False
    forget_broker_connections(app)


def forget_broker_connections(app) -> None:
    """Drop the app's broker and producer pools; the next publish picks them anew.

    Not closed: kombu keeps one pool per broker for the whole process and hands
    the same one out again, so a closed one would be reused, closed.
    """
    app._pool = None
    amqp = app.__dict__.get("amqp")  # a cached property: only if it was made
    if amqp is not None:
        amqp._producer_pool = None


@contextlib.contextmanager
def celery_worker(
    *, database: str, redis_url: str, queue: str, prefix: str, log_path: Path, name: str,
    public_url: str = "http://127.0.0.1:8000", concurrency: int = 2, loglevel: str = "INFO",
    **extra_env: str,
) -> Iterator[subprocess.Popen]:  # fmt: skip
    """A prefork worker of the standalone site, ready when this yields; stopped after.

    It reads only ``queue`` and keeps its locks under ``prefix``, so it shares
    a Redis with other runs without seeing their tasks or keys. Quieter than
    INFO (as a benchmark wants), readiness is its pool being up, not its log.
    """
    env = dict(
        os.environ, DATABASE_URL=database, REDIS_URL=redis_url,
        CAPOMASTRO_CHANGES_QUEUE=queue, CAPOMASTRO_CHANGES_REDIS_PREFIX=prefix,
        CAPOMASTRO_CHANGES_ALLOW_FILE_URLS="1", CAPOMASTRO_CHANGES_PUBLIC_URL=public_url,
        DJANGO_SETTINGS_MODULE="capomastro_changes.site.settings", **extra_env,
    )  # fmt: skip
    argv = [
        sys.executable, "-m", "celery", "-A", "capomastro_changes.site.celery", "worker",
        "--pool", "prefork", "--concurrency", str(concurrency), "--queues", queue,
        "--loglevel", loglevel, "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"{name}@%h",
    ]  # fmt: skip
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(proc, log_path, concurrency if loglevel not in ("INFO", "DEBUG") else 0)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(proc: subprocess.Popen, log_path: Path, pool: int = 0, timeout: float = 60):
    """Until the worker logs that it is ready, or (``pool`` > 0) has that many children."""
    deadline = time.monotonic() + timeout
    while not (len(pool_pids(proc.pid)) >= pool if pool else "ready." in log_path.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


def pool_pids(pid: int) -> list[int]:
    """A process's children (a worker's prefork pool), from /proc."""
    children = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(entry.path, "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return sorted(children)
