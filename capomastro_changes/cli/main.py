"""The ``capomastro-changes`` console command: run the site, the demo, checks and status."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from capomastro_changes.cli.adopt import add_arguments as add_import_arguments
from capomastro_changes.cli.ephemera import add_arguments as add_ephemera_arguments
from capomastro_changes.site.data_dir import SITE_FILE, hold, in_use, is_demo, is_public

DATA_DIR_VARIABLE = "CAPOMASTRO_CHANGES_DATA_DIR"
# What the demo's own processes were set up with, kept beside its data, so that a
# command pointed at that data later behaves as the demo did (local file:// sources).
DEMO_SITE = {"demo": True, "allow_file_urls": True}


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (argparse says so in one line otherwise)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capomastro-changes", description="Change-based builds for capomastro."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="migrate, then serve the admin and run a Celery worker with beat",
        description="Runs everything in one go on embedded defaults (SQLite, embedded "
        "Redis) unless DATABASE_URL / REDIS_URL say otherwise.",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=port_number, default=8000)
    run.add_argument("--no-worker", action="store_true", help="serve the admin only")
    run.add_argument(
        "--data-dir", help="where the SQLite file, the embedded Redis and the admin password "
        "live (default: $CAPOMASTRO_CHANGES_DATA_DIR, else ./.capomastro-changes)",
    )  # fmt: skip
    demo = sub.add_parser(
        "demo",
        help="the whole flow on embedded defaults, narrated",
        description="Starts the Jenkins stand-in, the site and a worker with beat on a fresh "
        "SQLite database and embedded Redis, makes commits to sample git and bzr "
        "repositories and narrates what is detected, triggered and linked.",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=port_number, default=8000, help="0 picks a free port")
    demo.add_argument("--no-serve", action="store_true", help="stop after the scenario")
    demo.add_argument("--json", metavar="FILE", help="write a summary of the run")
    demo.add_argument("--data-dir", default=".capomastro-changes/demo", help="wiped first")
    for name, text in (("check", "check sources now"), ("status", "sources and their locks")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument(
            "--data-dir", help=f"the data directory of the instance to use (default: "
            f"${DATA_DIR_VARIABLE}, else ./.capomastro-changes); it must hold a database, "
            "unless DATABASE_URL is set",
        )  # fmt: skip
        if name == "check":
            cmd.add_argument(
                "sources", nargs="*", metavar="SOURCE",
                help="a source id, its URL as the admin shows it, or a dependency name",
            )  # fmt: skip
            cmd.add_argument("--all", action="store_true", help="every enabled source")
    adopt = sub.add_parser(
        "import-capomastro",
        help="adopt an existing capomastro's servers, jobs, dependencies and projects",
        description="Reads capomastro's database read-only and creates or updates our "
        "records to match it; re-run it to pick up what changed in capomastro.",
    )
    add_import_arguments(adopt)
    kept = sub.add_parser(
        "ephemera",
        help="list the ephemera archives kept, or invalidate a dependency's",
        description="Ephemera are the parts of a build's workspace kept after it succeeds "
        "(docs/ephemera.md).",
    )
    add_ephemera_arguments(
        kept, f"the data directory of the instance to use (default: ${DATA_DIR_VARIABLE}, "
        "else ./.capomastro-changes); it must hold a database, unless DATABASE_URL is set",
    )  # fmt: skip
    adopt.add_argument(
        "--data-dir", help="our data directory (SQLite file), when not DATABASE_URL "
        "(default: $CAPOMASTRO_CHANGES_DATA_DIR, else ./.capomastro-changes)",
    )  # fmt: skip
    return parser


def prepare_demo(args) -> None:
    """A fresh data directory, embedded services only, file:// sources allowed."""
    data_dir = Path(args.data_dir).resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    (data_dir / SITE_FILE).write_text(json.dumps(DEMO_SITE) + "\n")
    os.environ["CAPOMASTRO_CHANGES_DATA_DIR"] = str(data_dir)
    os.environ["CAPOMASTRO_CHANGES_ALLOW_FILE_URLS"] = "1"
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)


def busy_port(args) -> str:
    """Why ``run`` or ``demo`` cannot serve where asked ("" when it can)."""
    port = getattr(args, "port", 0)
    if args.command not in ("run", "demo") or not port:
        return ""
    try:  # the address family the host names (IPv6 for ::1), as the server will bind it
        family, _, _, _, address = socket.getaddrinfo(args.host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        return f"cannot serve on {args.host}:{port} ({exc.strerror})"
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot serve on {args.host}:{port} ({exc.strerror})"
    return ""


def data_dir_refusal(args) -> str:
    """Why ``run`` or ``demo`` must leave its data directory alone ("" when it may use it).

    Checked before anything is wiped or started: the demo wipes its directory,
    and a second instance on one directory would share (and restart) the
    first one's database, Redis and metrics.
    """
    if args.command not in ("run", "demo"):
        return ""
    given = args.data_dir or os.environ.get(DATA_DIR_VARIABLE) or ".capomastro-changes"
    path = Path(given).resolve()
    if path.exists() and not path.is_dir():
        return f"{path} is not a directory"
    try:  # made here, before anything starts: a path that cannot be one is said now
        (path if args.command == "run" else path.parent).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot make {path} ({exc.strerror})"
    busy = in_use(path)
    if busy:
        return f"{path} is in use ({busy}); stop that instance first, or give another --data-dir"
    if args.command == "demo" and path.is_dir() and any(path.iterdir()) and not is_demo(path):
        return (
            f"{path} holds data the demo did not make, and the demo wipes its directory; "
            "give --data-dir a new directory"
        )
    return ""


def missing_database() -> str:
    """Why a command that reads an instance's records has none to read ("" when it has).

    Checked before the settings load, which would create an empty database. A
    process that set Django up before calling us (a test, a shell) chose its
    database itself, so there is nothing to look for.
    """
    from django.conf import settings

    if os.environ.get("DATABASE_URL") or settings.configured:
        return ""
    data_dir = Path(os.environ.get(DATA_DIR_VARIABLE) or ".capomastro-changes").resolve()
    if holds_our_tables(data_dir / "db.sqlite3"):
        return ""
    if holds_our_tables(data_dir / "demo" / "db.sqlite3"):
        return (
            f"no database in {data_dir}; the demo's is in {data_dir / 'demo'}: "
            f"--data-dir {data_dir / 'demo'}"
        )
    return (
        f"no database in {data_dir}; start an instance there first "
        f"('capomastro-changes run --data-dir {data_dir}'), or point --data-dir at one"
    )


def holds_our_tables(database: Path) -> bool:
    """Whether a SQLite file is an instance's database: opened read-only, never created."""
    import sqlite3

    if not database.is_file():
        return False
    try:
        with contextlib.closing(
            sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5)
        ) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                ("capomastro_changes_sourcestate",),
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def malformed_urls() -> str:
    """What is wrong with ``DATABASE_URL`` or ``REDIS_URL`` as written ("" when nothing).

    Said before anything starts, in one line, the URLs shown without credentials.
    """
    import dj_database_url

    from capomastro_changes.redaction import redact_url

    database = os.environ.get("DATABASE_URL")
    if database:
        try:
            dj_database_url.parse(database)
        except (ValueError, KeyError) as exc:
            return f"DATABASE_URL {redact_url(database)} is not a database URL ({exc})"
    redis_at = os.environ.get("REDIS_URL")
    if redis_at and redis_at.startswith(("redis://", "rediss://")):
        try:
            urlsplit(redis_at).port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            return f"REDIS_URL {redact_url(redis_at)} has a port that is not a number"
    if redis_at and not redis_at.startswith(("redis://", "rediss://", "unix://")):
        return (
            f"REDIS_URL {redact_url(redis_at)} is not a Redis URL (redis://, rediss:// or unix://)"
        )
    return ""


def share_metrics_between_processes() -> None:
    """Web server and workers count into one fresh directory, so one scrape sees all."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    base = os.environ.get("CAPOMASTRO_CHANGES_DATA_DIR") or ".capomastro-changes"
    metrics_dir = Path(base).resolve() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def main(argv: list[str] | None = None) -> int:
    # Whatever this command creates (the data directory, the metrics directory, the
    # database) is its owner's alone, before the settings make the directory private.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    given_key = os.environ.get("DJANGO_SECRET_KEY")
    if args.command in ("run", "demo") and given_key is not None and is_public(given_key):
        print(
            f"capomastro-changes {args.command}: refused: DJANGO_SECRET_KEY is a published or "
            "short key, so anyone could forge a session; unset it to have a random one made, "
            "or set a random one of 32 characters or more",
            file=sys.stderr,
        )
        return 2
    busy = busy_port(args)
    if busy:  # before anything is started, or wiped
        print(f"capomastro-changes {args.command}: {busy}; nothing was started", file=sys.stderr)
        return 1
    refusal = data_dir_refusal(args)
    if refusal:
        print(f"capomastro-changes {args.command}: {refusal}; nothing was started", file=sys.stderr)
        return 2
    if args.command == "demo":
        prepare_demo(args)
    elif getattr(args, "data_dir", None):
        os.environ["CAPOMASTRO_CHANGES_DATA_DIR"] = os.path.abspath(args.data_dir)
    if args.command in ("run", "demo"):  # this process's, until it ends: no second instance
        given = os.environ.get(DATA_DIR_VARIABLE) or ".capomastro-changes"
        if not hold(Path(given).resolve()):
            print(f"capomastro-changes {args.command}: {Path(given).resolve()} is in use (a run "
                  "or demo holds it); nothing was started", file=sys.stderr)  # fmt: skip
            return 2
    wrong = malformed_urls()
    if wrong:
        print(f"capomastro-changes {args.command}: {wrong}; nothing was started", file=sys.stderr)
        return 2
    if args.command in ("check", "status", "ephemera"):
        missing = missing_database()
        if missing:
            print(f"capomastro-changes {args.command}: {missing}", file=sys.stderr)
            return 2
    if args.command in ("run", "demo"):
        share_metrics_between_processes()
        # SIGTERM (a service manager, a test) ends like Ctrl-C: workers and the
        # embedded Redis are stopped on the way out instead of being orphaned.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.command == "import-capomastro":
        from capomastro_changes.cli.adopt import read_capomastro

        capomastro = read_capomastro(args)  # before our settings create anything
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capomastro_changes.site.settings")
    import django
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from capomastro_changes.redaction import redact_text

    if not apps.ready:  # called again in a set-up process: keep its logging as it is
        try:
            django.setup()
        except ImproperlyConfigured as exc:  # a data directory we may not make private
            print(f"capomastro-changes {args.command}: {exc}", file=sys.stderr)
            return 2
    try:
        return run_command(args, capomastro if args.command == "import-capomastro" else None)
    except DatabaseError as exc:
        why = redact_text(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        print(f"capomastro-changes {args.command}: the database did not answer: {why}",
              file=sys.stderr)  # fmt: skip
        return 1


def run_command(args, capomastro) -> int:
    """The subcommand itself, once Django is set up."""
    if args.command == "run":
        from capomastro_changes.site.runner import run

        return run(host=args.host, port=args.port, worker=not args.no_worker)
    if args.command == "demo":
        from capomastro_changes.cli.demo import run_demo

        return run_demo(args.host, args.port, serve=not args.no_serve, json_file=args.json)
    if args.command == "import-capomastro":
        from capomastro_changes.cli.adopt import run_import

        return run_import(capomastro[0], capomastro[1], args.dry_run, args.json)
    if args.command == "ephemera":
        from capomastro_changes.cli.ephemera import run as run_ephemera

        return run_ephemera(args)
    from capomastro_changes.cli import console

    if args.command == "check":
        return console.check(args.sources, every=args.all)
    return console.status()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
