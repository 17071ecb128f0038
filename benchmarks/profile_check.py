"""CPU of one unchanged check in one process, without Celery: where the worker's time goes.

    .venv/bin/python benchmarks/profile_check.py [--sources N] [--profile SORT]

Makes a bare git repository served by ``git daemon`` and N sources that are
symbolic links to it (distinct sources, one repository), checks each once for
its baseline, then times a check of every source (``checking.check_source``,
logging off) and prints the statements of one check and the CPU per check.
``--profile cumulative`` (or ``tottime``) adds cProfile's table.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scratch_db import scratch_database  # noqa: E402
from capomastro_changes.testing import repos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument("--profile", choices=("cumulative", "tottime"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="profile-check-"))
    repos.make_git(tmp, "r")
    for n in range(args.sources):
        os.symlink(tmp / "r.git", tmp / f"r{n}.git")
    with scratch_database(tmp) as database:
        return run(tmp, args.sources, args.profile, database)


def run(tmp: Path, count: int, sort: str | None, database: str) -> int:
    from django.conf import settings
    from django.db import connection, reset_queries

    from capomastro_changes.detection.check import check_source
    from capomastro_changes.testing import servers
    from capomastro_changes.testing.factories import make_dependency, make_source

    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("git",)
    logging.disable(logging.CRITICAL)
    with servers.git_daemon(tmp) as base:
        ids = [make_dependency(source=make_source("git", f"{base}/r{n}.git")).source_id
               for n in range(count)]  # fmt: skip
        for source_id in ids:
            check_source(source_id)  # the baselines
        settings.DEBUG = True
        reset_queries()
        check_source(ids[0])
        statements = [q["sql"].split(" ", 1)[0] for q in connection.queries]
        settings.DEBUG = False
        profile = cProfile.Profile() if sort else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        for source_id in ids:
            check_source(source_id)
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{database}, {count} unchanged git:// checks")
    print(f"statements of one check: {' '.join(statements)}")
    print(f"per check: {1000 * cpu / count:.2f} ms CPU, {1000 * wall / count:.2f} ms wall")
    if profile:
        pstats.Stats(profile).sort_stats(sort).print_stats(40)
    return 0


if __name__ == "__main__":
    sys.exit(main())
