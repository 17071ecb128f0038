"""The standalone site's moving parts, started for ``run`` and ``demo``: a Celery worker,
a beat, the web server under gunicorn (``run``), or in a thread (the demo)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

from capomastro_changes.redaction import redact_text


class QuietHandler(WSGIRequestHandler):
    """Request lines stay out of the narration; errors are still logged, secrets redacted."""

    def log_message(self, format, *args):  # noqa: A002
        if args and str(args[1]).startswith(("4", "5")):
            shown = (redact_text(a) if isinstance(a, str) else a for a in args)
            super().log_message(format, *shown)


def child_environment(redis_url: str, **env) -> dict[str, str]:
    """A child's environment: ours, the Redis URL, and who its parent is.

    The child reads ``CAPOMASTRO_CHANGES_PARENT_PID`` at start-up
    (:func:`capomastro_changes.site.parent_watch.die_with_parent`) and asks the
    kernel to end it when this process dies, even of SIGKILL.
    """
    return dict(os.environ, REDIS_URL=redis_url, CAPOMASTRO_CHANGES_PARENT_PID=str(os.getpid()),
                **env)  # fmt: skip


def start_worker(redis_url: str, log_file: Path | None = None, beat: bool = True, **env):
    """A Celery worker (with embedded beat) on the same database and Redis as this process."""
    environment = child_environment(redis_url, **env)
    argv = [
        sys.executable, "-m", "celery", "-A", "capomastro_changes.site.celery", "worker",
        "--loglevel", "INFO", "--concurrency", "2",
    ]  # fmt: skip
    if beat:
        schedule = Path(settings.CAPOMASTRO_CHANGES_DATA_DIR) / "beat-schedule"
        argv += ["--beat", "--schedule", str(schedule)]
    out = log_file.open("ab") if log_file else None
    # Its own process group: Ctrl-C reaches the supervisor only, which stops it in order.
    return subprocess.Popen(
        argv, env=environment, stdout=out, stderr=subprocess.STDOUT, process_group=0
    )


def start_beat(redis_url: str) -> subprocess.Popen:
    """The one beat, as a process of its own (the guarded scheduler, see settings)."""
    schedule = Path(settings.CAPOMASTRO_CHANGES_DATA_DIR) / "beat-schedule"
    argv = [
        sys.executable, "-m", "celery", "-A", "capomastro_changes.site.celery", "beat",
        "--loglevel", "INFO", "--schedule", str(schedule),
    ]  # fmt: skip
    return subprocess.Popen(argv, env=child_environment(redis_url), process_group=0)


def start_web(host: str, port: int, redis_url: str) -> subprocess.Popen:
    """The site under gunicorn (see :mod:`capomastro_changes.site.gunicorn_conf`)."""
    argv = [
        sys.executable, "-m", "gunicorn",
        "--config", "python:capomastro_changes.site.gunicorn_conf",
        "--bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "capomastro_changes.site.wsgi:application",
    ]  # fmt: skip
    return subprocess.Popen(argv, env=child_environment(redis_url), process_group=0)


def stop(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serve_in_thread(host: str, port: int) -> ThreadedWSGIServer:
    """The site (admin, notification endpoint) on ``host:port``, served by a daemon thread."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    server = ThreadedWSGIServer((host, port), QuietHandler, allow_reuse_address=True)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
