"""Reading capomastro's tables, read-only, into plain rows.

SQLite is opened through a ``mode=ro`` URI with ``query_only`` on, so not a
byte of capomastro's file can change; PostgreSQL in a read-only transaction.
Nothing here needs Django: it runs before our own settings create anything.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from capomastro_changes.adoption.errors import NotCapomastro, Unreadable
from capomastro_changes.redaction import redact_url

# capomastro's own tables, and the columns we read of each.
COLUMNS = {
    "jenkins_jenkinsserver": ("id", "name", "url", "username", "password"),
    "jenkins_jobtype": ("id", "name", "description", "config_xml"),
    "jenkins_job": ("id", "server_id", "jobtype_id", "name"),
    "jenkins_build": (
        "id",
        "job_id",
        "build_id",
        "number",
        "duration",
        "url",
        "phase",
        "status",
        "created_at",
        "parameters",
        "requested_by_id",
    ),  # fmt: skip
    "jenkins_artifact": ("id", "build_id", "filename", "url"),
    "projects_dependency": ("id", "name", "job_id", "description", "parameters"),
    "projects_project": ("id", "name", "description"),
    "projects_projectdependency": (
        "id",
        "dependency_id",
        "project_id",
        "auto_track",
        "current_build_id",
    ),  # fmt: skip
}
# Columns that came late in capomastro's history: absent in older databases.
LATE_COLUMNS = {
    ("projects_dependency", "parameters"),
    ("jenkins_build", "created_at"),
    ("jenkins_build", "parameters"),
    ("jenkins_build", "requested_by_id"),
}
# Tables we count but do not import, with the reason the report gives.
LEFT_ALONE = {
    "projects_projectbuild": "project builds: capomastro's YYYYMMDD.N ids repeat across "
    "projects; ours are built from now on",
    "projects_projectbuilddependency": "the dependencies of capomastro's project builds",
    "archives_archive": "archives: configure archiving here anew",
    "archives_archiveartifact": "archived artifacts",
    "credentials_sshkeypair": "SSH key pairs: private keys are not copied",
}


@dataclass
class Capomastro:
    """capomastro's rows, table by table, plus counts of what is not imported."""

    tables: dict[str, list[dict]] = field(default_factory=dict)
    usernames: dict[int, str] = field(default_factory=dict)
    left_alone: dict[str, int] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict]:
        return self.tables.get(table, [])


def read(database_url: str) -> Capomastro:
    """Every row we import, and counts of the rest.

    Raises:
        Unreadable: no such file, or it cannot be opened (message without a secret).
        NotCapomastro: the database lacks capomastro's tables.
    """
    if database_url.startswith(("postgres://", "postgresql://")):
        return _read_postgres(database_url)
    return _read_sqlite(_sqlite_path(database_url))


def _sqlite_path(database_url: str) -> Path:
    if database_url.startswith("sqlite:"):
        path = urlsplit(database_url).path
        return Path(unquote(path[1:] if path.startswith("//") else path))
    if "://" in database_url:
        scheme = database_url.split("://", 1)[0]
        raise Unreadable(
            f"{redact_url(database_url)}: unsupported database ({scheme}); "
            "give a SQLite path or a postgres:// URL"
        )
    return Path(database_url)


def _read_sqlite(path: Path) -> Capomastro:
    if not path.exists():
        raise Unreadable(f"{path}: no such file")
    if not path.is_file():
        raise Unreadable(f"{path}: not a file (give capomastro's SQLite database file)")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise Unreadable(f"{path}: cannot open read-only ({exc})") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        tables = {
            r[0] for r in _ask(conn, path, "SELECT name FROM sqlite_master WHERE type='table'")
        }

        def columns_of(table):
            return {r[1] for r in _ask(conn, path, f'PRAGMA table_info("{table}")')}

        return _gather(lambda sql: _ask(conn, path, sql), tables, columns_of, str(path))
    finally:
        conn.close()


def _ask(conn, path, sql: str) -> list[tuple]:
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.DatabaseError as exc:  # not a database at all, or damaged
        raise NotCapomastro(f"{path}: not a capomastro database ({exc})") from None


def _read_postgres(database_url: str) -> Capomastro:
    shown = redact_url(database_url)
    try:
        import psycopg
    except ImportError:
        raise Unreadable(
            f"{shown}: PostgreSQL needs psycopg: pip install 'capomastro-changes[postgres]'"
        ) from None
    try:
        conn = psycopg.connect(database_url, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Unreadable(f"{shown}: cannot connect ({redact_url(reason)})") from None
    try:
        conn.read_only = True

        def ask(sql):
            return conn.execute(sql).fetchall()

        tables = {
            r[0]
            for r in ask("SELECT table_name FROM information_schema.tables "
                         "WHERE table_schema = current_schema()")
        }  # fmt: skip

        def columns_of(table):
            return {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = %s",
                    (table,),
                ).fetchall()
            }

        return _gather(ask, tables, columns_of, shown)
    finally:
        conn.rollback()
        conn.close()


def _gather(ask, tables: set[str], columns_of, shown: str) -> Capomastro:
    missing = sorted(set(COLUMNS) - tables)
    if missing:
        raise NotCapomastro(
            f"{shown}: not a capomastro database (no table {', '.join(missing[:3])}"
            f"{', …' if len(missing) > 3 else ''})"
        )
    found = Capomastro()
    for table, wanted in COLUMNS.items():
        have = columns_of(table)
        absent = [c for c in wanted if c not in have]
        if any((table, c) not in LATE_COLUMNS for c in absent):
            raise NotCapomastro(
                f"{shown}: not a capomastro database ({table} lacks {', '.join(absent)})"
            )
        listed = ", ".join(c if c in have else f"NULL AS {c}" for c in wanted)
        rows = ask(f"SELECT {listed} FROM {table} ORDER BY id")
        found.tables[table] = [dict(zip(wanted, row, strict=True)) for row in rows]
    if "auth_user" in tables:
        found.usernames = dict(ask("SELECT id, username FROM auth_user"))
    for table in LEFT_ALONE:
        if table in tables:
            found.left_alone[table] = ask(f"SELECT COUNT(*) FROM {table}")[0][0]
    return found
