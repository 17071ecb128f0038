"""CPU of an unchanged check in one process, without Celery: where the worker's time goes.

    .venv/bin/python benchmarks/profile_check.py [--sources N] [--profile SORT]

Makes a bare git repository served by ``git daemon`` and N sources that are
symbolic links to it (distinct sources, one repository), checks each once for
its baseline, then times a check of every source twice, logging off: one
source at a time (``detection.check.check_source``, what "check now" and a push
run) and in batches as the sweep sends them (``detection.batch.check_batch``).
It prints, for each way, the statements of one check (of one batch) and the CPU
and wall time per check (CPU of all threads: a batch reads in threads).
``--profile cumulative`` (or ``tottime``) adds cProfile's table of the batches.
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

    from capomastro_changes.conf import settings as ours
    from capomastro_changes.detection.batch import batches, check_batch
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
        single_statements = statements_of(lambda: check_source(ids[0]))
        single_cpu, single_wall = timed(lambda: [check_source(i) for i in ids])
        cut = batches(ids, 1, ours.CHECK_BATCH_MAX)
        batch_statements = statements_of(lambda: check_batch(cut[0]))
        profile = cProfile.Profile() if sort else None
        if profile:
            profile.enable()
        batch_cpu, batch_wall = timed(lambda: [check_batch(batch) for batch in cut])
        if profile:
            profile.disable()
    print(f"{database}, {count} unchanged git:// checks")
    print(f"one at a time: statements of one check: {' '.join(single_statements)}")
    print(per_check(single_cpu, single_wall, count))
    print(
        f"in batches of {len(cut[0])} ({ours.CHECK_BATCH_THREADS} reads at once): "
        f"statements of one batch: {' '.join(batch_statements)}"
    )
    print(per_check(batch_cpu, batch_wall, count))
    if profile:
        pstats.Stats(profile).sort_stats(sort).print_stats(40)
    return 0


def per_check(cpu: float, wall: float, count: int) -> str:
    return f"  per check: {1000 * cpu / count:.2f} ms CPU, {1000 * wall / count:.2f} ms wall"


def statements_of(work) -> list[str]:
    """The first word of every statement ``work`` runs."""
    from django.conf import settings
    from django.db import connection, reset_queries

    settings.DEBUG = True
    reset_queries()
    work()
    settings.DEBUG = False
    return [q["sql"].split(" ", 1)[0] for q in connection.queries]


def timed(work) -> tuple[float, float]:
    """CPU (all threads of this process) and wall seconds of ``work``."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


if __name__ == "__main__":
    sys.exit(main())
