"""``capomastro-changes import-capomastro`` as an operator runs it: a real process.

A wrong database stops it with one line and exit status 2, having created
nothing on either side; a real import prints no secret anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from capomastro_db import SECRETS, make_capomastro


def command(*args, data_dir, env=None):
    """The console command in a process of its own, on our own SQLite data dir."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "capomastro_changes.cli.main", "import-capomastro", *args,
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, env=environment,
    )  # fmt: skip


def files_under(path) -> list:
    return sorted(p.relative_to(path) for p in path.rglob("*"))


@pytest.mark.parametrize(
    "what", ["missing file", "not capomastro", "not a database", "a directory"]
)
def test_a_database_that_is_not_capomastros_stops_with_one_line_and_writes_nothing(tmp_path, what):
    target = tmp_path / "given.db"
    if what == "not capomastro":
        with sqlite3.connect(target) as conn:
            conn.execute("CREATE TABLE notes (id integer PRIMARY KEY, text text)")
    elif what == "a directory":
        target.mkdir()
    elif what == "not a database":
        target.write_bytes(b"just some text, not SQLite\n" * 50)
    before = files_under(tmp_path)
    digest = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else None

    done = command(str(target), data_dir=tmp_path / "ours")

    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(target) in done.stderr
    assert files_under(tmp_path) == before  # no data dir of ours, no journal of theirs
    if digest:
        assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


def test_a_malformed_vcs_for_is_one_line_and_exit_2(tmp_path):
    capomastro = make_capomastro(tmp_path / "capomastro.db")
    done = command(str(capomastro), "--vcs-for", "generic=svn", data_dir=tmp_path / "ours")
    assert done.returncode == 2 and "--vcs-for 'generic=svn'" in done.stderr
    assert not (tmp_path / "ours").exists()


def test_no_secret_reaches_stdout_stderr_the_log_or_the_json(tmp_path):
    capomastro = make_capomastro(tmp_path / "capomastro.db")
    digest = hashlib.sha256(capomastro.read_bytes()).hexdigest()
    shown = ""
    for flags in (["--dry-run"], [], []):
        report = tmp_path / "report.json"
        done = command(str(capomastro), "--json", str(report), *flags, data_dir=tmp_path / "ours")
        assert done.returncode == 0, done.stderr
        shown += done.stdout + done.stderr + report.read_text()
    assert "create dependency: libfoo" in shown and "capomastro import" in shown
    for secret in SECRETS:
        assert secret not in shown
    assert hashlib.sha256(capomastro.read_bytes()).hexdigest() == digest
    with sqlite3.connect(tmp_path / "ours" / "db.sqlite3") as ours:
        tokens = {
            r[0] for r in ours.execute("SELECT api_token FROM capomastro_changes_jenkinsserver")
        }
    assert tokens == set(SECRETS[:2])  # the passwords came across, as API tokens


def test_the_management_command_imports_as_the_console_command_does(tmp_path):
    capomastro = make_capomastro(tmp_path / "capomastro.db")
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(
        DJANGO_SETTINGS_MODULE="capomastro_changes.site.settings",
        CAPOMASTRO_CHANGES_DATA_DIR=str(tmp_path / "host"),
    )
    run = [sys.executable, "-m", "django"]
    migrate = subprocess.run([*run, "migrate", "-v0"], env=environment, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr
    done = subprocess.run(
        [*run, "import_capomastro", str(capomastro), "--json", str(tmp_path / "r.json")],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["counts"]["projects"]["created"] == 2
    missing = subprocess.run(
        [*run, "import_capomastro", str(tmp_path / "nope.db")],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2 and "no such file" in missing.stderr
