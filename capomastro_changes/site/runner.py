"""``capomastro-changes run``: one command that brings the standalone site up.

It migrates, makes sure an admin account exists, starts a Celery worker with
an embedded beat (one subprocess, argv list), then serves the admin until
interrupted. Worker and web server share the same database and Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from capomastro_changes.coordination.connection import redis_url
from capomastro_changes.site.data_dir import is_public
from capomastro_changes.site.services import start_worker, stop

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
    data_dir = Path(settings.CAPOMASTRO_CHANGES_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    password_file = ensure_admin(data_dir)
    url = redis_url()
    os.environ["REDIS_URL"] = url
    proc = start_worker(url) if worker else None
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}", flush=True)
    print(f"redis: {'embedded' if url.startswith('unix://') else 'configured'}", flush=True)
    print(f"admin at http://{host}:{port}/admin/", flush=True)
    print(f"log in as '{ADMIN_USER}', password in {password_file}", flush=True)
    try:
        call_command(
            "runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True,
            skip_checks=True,
        )  # fmt: skip
    except KeyboardInterrupt:
        pass
    finally:
        stop(proc)
    return 0
