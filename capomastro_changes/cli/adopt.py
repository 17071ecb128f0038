"""``capomastro-changes import-capomastro``: adopt an existing capomastro's records.

capomastro's database is read (read-only) before Django is set up, so a
wrong path or a database that is not capomastro's stops the command with one
line and exit status 2, having created nothing on either side.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EXIT_UNREADABLE = 2
EXIT_WRITE_FAILED = 1
log = logging.getLogger("capomastro_changes.adoption")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "database", metavar="CAPOMASTRO_DATABASE_URL",
        help="capomastro's database: a SQLite file path (or sqlite:///PATH) or a postgres:// URL",
    )  # fmt: skip
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan; write nothing anywhere"
    )
    parser.add_argument(
        "--url-parameter", default="SOURCE_URL", metavar="NAME",
        help="the dependency parameter holding its repository URL (default: SOURCE_URL)",
    )  # fmt: skip
    parser.add_argument(
        "--branch-parameter", default="SOURCE_BRANCH", metavar="NAME",
        help="the dependency parameter holding its branch (default: SOURCE_BRANCH)",
    )  # fmt: skip
    parser.add_argument(
        "--vcs-for", action="append", default=[], metavar="JOBTYPE=git|bzr",
        help="the VCS of a job type's sources where the URL cannot tell (repeatable)",
    )  # fmt: skip
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")


def vcs_for(pairs: list[str]) -> dict[str, str]:
    """``--vcs-for`` values as a mapping; a malformed one is a one-line error."""
    found = {}
    for pair in pairs:
        jobtype, sep, vcs = pair.rpartition("=")
        if not sep or not jobtype or vcs not in ("git", "bzr"):
            raise ValueError(f"--vcs-for {pair!r}: write JOBTYPE=git or JOBTYPE=bzr")
        found[jobtype] = vcs
    return found


def load(args):
    """capomastro's rows and our options.

    Raises:
        AdoptionError: the database is missing, unreadable or not capomastro's.
        ValueError: a malformed ``--vcs-for``.
    """
    from capomastro_changes.adoption.reader import read
    from capomastro_changes.adoption.wanted import Options

    options = Options(args.url_parameter, args.branch_parameter, vcs_for(args.vcs_for))
    return read(args.database), options


def read_capomastro(args):
    """:func:`load`, or a one-line error and exit status 2.

    Runs before Django is set up: nothing of ours is created when this fails.
    """
    from capomastro_changes.adoption.errors import AdoptionError

    try:
        return load(args)
    except (AdoptionError, ValueError) as exc:
        print(f"import-capomastro: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_UNREADABLE) from None


def run_import(data, options, dry_run: bool, json_file: str | None, out=None) -> int:
    """Import (Django set up), print the report, write the JSON; the exit status."""
    from django.core.management import call_command
    from django.db import DatabaseError

    from capomastro_changes.adoption.importing import import_wanted
    from capomastro_changes.adoption.wanted import wanted
    from capomastro_changes.redaction import redact_text

    try:
        if not dry_run:
            call_command("migrate", interactive=False, verbosity=0)
        report = import_wanted(wanted(data, options), dry_run=dry_run, ours_empty=not _migrated())
    except DatabaseError as exc:
        print(f"import-capomastro: nothing imported: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_WRITE_FAILED
    for line in report.lines():
        print(line, file=out or sys.stdout)
    counts = {k: v["created"] + v["updated"] for k, v in report.counts.items()}
    log.info(
        "capomastro import%s: %d created or updated, %d need a source, %d left alone",
        " (dry run)" if dry_run else "", sum(counts.values()),
        len(report.needs_source), len(report.left_alone),
    )  # fmt: skip
    if json_file:
        Path(json_file).write_text(report.to_json())
    return 0


def _migrated() -> bool:
    """Whether our tables exist; asked without creating a SQLite file that is not there."""
    from django.db import connection

    if connection.vendor == "sqlite" and not Path(connection.settings_dict["NAME"]).exists():
        return False
    return "capomastro_changes_dependency" in connection.introspection.table_names()
