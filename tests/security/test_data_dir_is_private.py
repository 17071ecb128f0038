"""The data directory (database with tokens and sessions, embedded Redis, admin password,
signing key) is its owner's alone whatever the umask, and the site signs with a random
key of its own: a cookie signed with the key once published in our source is worthless."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.utils.safestring import mark_safe

from capomastro_changes.site.data_dir import PUBLIC_KEYS

OLD_KEY = next(iter(PUBLIC_KEYS))
COMMAND = Path(sys.executable).parent / "capomastro-changes"


def fresh_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """As on a fresh machine: nothing configured but where the data goes."""
    drop = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "CAPOMASTRO_CHANGES_DATA_DIR": str(data_dir), **extra}


def migrate_under_umask_022(data_dir: Path, **extra: str) -> subprocess.CompletedProcess:
    """Set up the site (migrate: the database is written) in a process started with umask 022."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
        "'capomastro_changes.site.settings'; django.setup(); "
        "from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); from django.conf import settings; "
        "print(settings.SECRET_KEY)"
    )
    old = os.umask(0o022)
    try:
        return subprocess.run(
            [sys.executable, "-c", code], env=fresh_env(data_dir, **extra),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_dir_and_its_files_are_private_under_umask_022(tmp_path):
    data = tmp_path / "data"
    done = migrate_under_umask_022(data)
    assert done.returncode == 0, done.stderr
    assert mode(data) == 0o700
    assert mode(data / "db.sqlite3") == 0o600
    assert mode(data / "secret-key") == 0o600


def test_an_existing_open_data_dir_is_tightened_and_said_so(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "db.sqlite3").touch()
    (data / "db.sqlite3").chmod(0o644)
    done = migrate_under_umask_022(data)
    assert done.returncode == 0, done.stderr
    assert (mode(data), mode(data / "db.sqlite3")) == (0o700, 0o600)
    assert "was open to other users (mode 0755): made private" in done.stderr


def test_the_key_is_random_per_data_dir_and_kept_between_runs(tmp_path):
    first = migrate_under_umask_022(tmp_path / "a").stdout.strip()
    again = migrate_under_umask_022(tmp_path / "a").stdout.strip()
    other = migrate_under_umask_022(tmp_path / "b").stdout.strip()
    assert first == again and first != other
    assert len(first) >= 50 and first not in PUBLIC_KEYS
    assert (tmp_path / "a" / "secret-key").read_text().strip() == first


@pytest.mark.parametrize("key", [OLD_KEY, "django-insecure-abc", "k3y"])
def test_run_refuses_a_published_or_short_key(tmp_path, key):
    old = os.umask(0o022)
    try:
        done = subprocess.run(
            [str(COMMAND), "run", "--port", "0", "--no-worker"],
            env=fresh_env(tmp_path / "data", DJANGO_SECRET_KEY=key),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.umask(old)
    assert done.returncode == 2
    assert "refused: DJANGO_SECRET_KEY is a published or short key" in done.stderr
    assert "open to other users" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created
    assert key not in done.stderr and "admin at" not in done.stdout


def forged_messages_cookie() -> str:
    """A messages cookie with raw HTML, signed with the key once in our source."""
    response = HttpResponse()
    with override_settings(SECRET_KEY=OLD_KEY):
        storage = CookieStorage(HttpRequest())  # its signer takes the key now
        storage._store([Message(constants.INFO, mark_safe('<img src=x id="forged">'))], response)
    return response.cookies[storage.cookie_name].value


@pytest.mark.django_db
def test_a_cookie_signed_with_the_published_key_is_not_believed(admin_client, settings):
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    assert settings.SECRET_KEY not in PUBLIC_KEYS
    admin_client.cookies["messages"] = forged_messages_cookie()
    html = admin_client.get("/admin/").content.decode()
    assert 'id="forged"' not in html


def test_the_demo_refuses_a_published_key_before_it_wipes_anything(tmp_path):
    kept = tmp_path / ".capomastro-changes" / "demo" / "kept"
    kept.parent.mkdir(parents=True)
    kept.write_text("the previous demo's data")
    done = subprocess.run(
        [str(COMMAND), "demo", "--port", "0", "--no-serve"], cwd=tmp_path,
        env={**fresh_env(tmp_path / "unused"), "DJANGO_SECRET_KEY": OLD_KEY},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "refused: DJANGO_SECRET_KEY is a published or short key" in done.stderr
    assert kept.read_text() == "the previous demo's data"


def test_a_command_makes_its_new_data_dir_private_from_the_start(tmp_path):
    """No "was open to other users" about a directory the command itself just made."""
    old = os.umask(0o022)
    try:
        done = subprocess.run(
            [str(COMMAND), "run", "--port", "0", "--data-dir", str(tmp_path / "data")],
            env={**fresh_env(tmp_path / "data"), "REDIS_URL": "redis://127.0.0.1:1/0"},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.umask(old)
    assert done.returncode == 1 and "Redis did not answer" in done.stderr
    assert "open to other users" not in done.stderr
    assert mode(tmp_path / "data") == 0o700
