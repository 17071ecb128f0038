"""Run one step of the rebuild engine in a process of its own, then exit.

    python -m capomastro_changes.testing.engine_step dispatch 42

For tests that need a second process to act at the same time as the test
(over a slow link to Redis, say): the environment names the database, Redis
and key prefix, as it does for a worker (see :func:`run_step`).
"""

from __future__ import annotations

import os
import subprocess
import sys


def _dispatch(request_id: str) -> None:
    from capomastro_changes.rebuilds.dispatch import dispatch

    dispatch(int(request_id))


STEPS = {"dispatch": _dispatch}


def run_step(step: str, *args: str, database: str, redis_url: str, prefix: str):
    """Start ``step`` in a new process; returns the running :class:`subprocess.Popen`."""
    env = dict(
        os.environ, DATABASE_URL=database, REDIS_URL=redis_url,
        CAPOMASTRO_CHANGES_REDIS_PREFIX=prefix,
        DJANGO_SETTINGS_MODULE="capomastro_changes.site.settings",
    )  # fmt: skip
    argv = [sys.executable, "-m", "capomastro_changes.testing.engine_step", step, *args]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def main(argv: list[str]) -> int:
    import django

    django.setup()
    step, *args = argv
    STEPS[step](*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
