"""``capomastro-changes run``: one command that brings the standalone site up.

It migrates and makes sure an admin account exists, then starts and watches
three processes (argv lists): the web server (gunicorn, see
:mod:`.gunicorn_conf`), a Celery worker on the app's queue, and one beat.
All share the database and Redis. SIGTERM or Ctrl-C stops them, last started
first; if one of them stops on its own, the others are stopped too and
``run`` exits 1 saying which, so a service manager restarts the whole.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from capomastro_changes.coordination.connection import redis_url, unreachable
from capomastro_changes.redaction import redact_text
from capomastro_changes.site.data_dir import is_public
from capomastro_changes.site.services import start_beat, start_web, start_worker, stop

log = logging.getLogger(__name__)
ADMIN_USER = "admin"


def ensure_admin(data_dir: Path) -> str:
    """Create the ``admin`` superuser on first run; its password lives in a 0600 file."""
    from django.contrib.auth import get_user_model

    password_file = data_dir / "admin-password"
    User = get_user_model()
    if not User.objects.filter(username=ADMIN_USER).exists():
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(ADMIN_USER, "", password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    return str(password_file)


def run(host: str, port: int, worker: bool = True) -> int:
    if is_public(settings.SECRET_KEY):
        print(
            "capomastro-changes run: refused: DJANGO_SECRET_KEY is a published or short key, "
            "so anyone could forge a session; unset it to have a random one made, or set a "
            "random one of 32 characters or more",
            file=sys.stderr,
        )
        return 2
    silent = unreachable()
    if silent:
        print(f"capomastro-changes run: Redis did not answer ({redact_text(silent)}); "
              "nothing was started", file=sys.stderr)  # fmt: skip
        return 1
    data_dir = Path(settings.CAPOMASTRO_CHANGES_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    password_file = ensure_admin(data_dir)
    url = redis_url()
    os.environ["REDIS_URL"] = url
    running: list[tuple[str, subprocess.Popen]] = []
    try:
        if worker:
            running.append(("worker", start_worker(url, beat=False)))
            running.append(("beat", start_beat(url)))
        running.append(("web server", start_web(host, port, url)))
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"database: {engine}", flush=True)
        print(f"redis: {'embedded' if url.startswith('unix://') else 'configured'}", flush=True)
        shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
        print(f"admin at http://{shown}:{port}/admin/", flush=True)
        print(f"log in as '{ADMIN_USER}', password in {password_file}", flush=True)
        return supervise(running)
    except KeyboardInterrupt:
        return 0
    finally:
        # An impatient second Ctrl-C must not cut the shutdown short and leave a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if running:
            print("capomastro-changes run: stopping the web server, beat and worker", flush=True)
        for _, proc in reversed(running):
            stop(proc)


def supervise(running: list[tuple[str, subprocess.Popen]]) -> int:
    """Wait while every process runs; 1, said in one line, as soon as one stops on its own."""
    while True:
        for name, proc in running:
            if proc.poll() is not None:
                print(
                    f"capomastro-changes run: the {name} stopped (exit status {proc.returncode}); "
                    "stopping the rest",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
                return 1
        time.sleep(0.5)
