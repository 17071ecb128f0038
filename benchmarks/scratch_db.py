"""A scratch database for the benchmark: Django pointed at it, migrated, dropped after.

PostgreSQL when ``DATABASE_URL`` points at one (a database ``bench_<pid>`` is
created beside the one named, and dropped, even on error; the named
database's tables are never touched), else a SQLite file in the run's scratch
directory. Django is configured here, once per process, before
``django.setup()``, so nothing else in the run may have set it up.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

POSTGRES = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"


@contextlib.contextmanager
def scratch_database(tmp: Path) -> Iterator[str]:
    """Configure Django on a fresh, migrated scratch database.

    Args:
        tmp: The run's scratch directory (the SQLite file and DATA_DIR live there).

    Yields:
        Which database it is, in words (``PostgreSQL 15.2 (bench_123)``, ``SQLite 3.40``).
    """
    url = os.environ.get("DATABASE_URL")
    try:
        if url and url.startswith(("postgres://", "postgresql://")):
            with _postgres(url) as config:
                yield _setup(config, tmp)
        else:
            yield _setup({"ENGINE": SQLITE, "NAME": str(tmp / "bench.sqlite3")}, tmp)
    finally:
        _close_connections()


@contextlib.contextmanager
def _postgres(url: str) -> Iterator[dict]:
    """Create ``bench_<pid>`` on the server ``url`` names; drop it afterwards."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = f"bench_{os.getpid()}"
    server = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": config["NAME"] or "postgres",
    }
    with psycopg.connect(**server, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield {**config, "NAME": name}
        finally:
            _close_connections()
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def _setup(config: dict, tmp: Path) -> str:
    """Point the site settings at ``config``, set Django up and migrate."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capomastro_changes.site.settings")
    os.environ["CAPOMASTRO_CHANGES_DATA_DIR"] = str(tmp / "data")
    import django
    from django.apps import apps
    from django.conf import settings

    if apps.ready:
        raise RuntimeError("Django was set up before the scratch database; refusing to touch it")
    settings.DATABASES = {"default": config}
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return _describe(connection, config)


def _describe(connection, config: dict) -> str:
    """The database's kind and version, for the table's notes."""
    with connection.cursor() as cursor:
        if config["ENGINE"] == SQLITE:
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]} (temporary file)"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0]} (scratch database {config['NAME']})"


def _close_connections() -> None:
    """Close Django's connections, if Django got that far (a database in use cannot be dropped)."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
