"""Run the benchmarks of issue 7: ``python benchmarks/run.py [--quick] [--json FILE]``.

Sets up on loopback what each figure needs (git daemon and smart HTTP, brz
serve, Redis, a scratch database), measures ours against its anchor with
warm-ups and interleaved medians, prints a table, writes JSON, and tears it
all down. Figures are judged as ratios measured in the same run on the same
machine, because absolute times on shared machines mean little.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

# Figure families (one module each, ``measure(ctx, quick) -> dict``) and the
# JSON keys each one answers for. Every key is always in the JSON.
REGISTRY = {
    "git_checks": (
        "git_check_vs_ls_remote",
        "git_client_overhead_vs_ls_remote",
        "git_check_vs_raw",
        "git_many_refs_ms",
    ),
    "bzr_checks": ("bzr_check_vs_cli",),
    "due_select": ("due_select_100k_ms",),
    "locks": ("lock_pairs_per_s",),
    "engine": (
        "sweep_1000_s",
        "sweep_10000_s",
        "sweep_vs_polling_run",
        "sweep_vs_raw_run",
        "check_cpu_vs_ls_remote",
        "shared_source_probes",
        "fanout_500_queries",
        "fanout_500_s",
        "handoff_ms",
        "worker_rss_mb",
    ),
    "ephemera": ("ephemera_restore_vs_tar", "ephemera_transfer_rss_mb"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes; under 3 minutes")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, to prove the harness works (tests)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the figures to FILE")
    parser.add_argument(
        "--only", metavar="FAMILY,...", help=f"run only these families: {', '.join(REGISTRY)}"
    )
    return parser.parse_args(argv)


def chosen_families(only: str | None) -> list[str]:
    """The families to run, in registry order; unknown names are refused."""
    if not only:
        return list(REGISTRY)
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(REGISTRY))
    if unknown:
        raise SystemExit(f"unknown figure families: {', '.join(unknown)}")
    return [name for name in REGISTRY if name in wanted]


def measure_family(ctx, family: str, quick: bool) -> tuple[dict, bool]:
    """Run one family; a failure is recorded against its keys, and the run goes on.

    Returns:
        The family's figures, and whether it completed.
    """
    keys = REGISTRY[family]
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.figures.{family}")
        figures = module.measure(ctx, quick)
    except Exception as exc:  # one broken family must not hide the others' figures
        traceback.print_exc()
        return {key: {"status": f"error: {type(exc).__name__}: {exc}"} for key in keys}, False
    missing = [key for key in keys if key not in figures]
    if missing:
        raise RuntimeError(f"{family} did not report {', '.join(missing)}")
    seconds = time.perf_counter() - started
    print(f"  {family}: {seconds:.1f} s", file=sys.stderr)
    return {key: figures[key] for key in keys}, True


def run(args: argparse.Namespace) -> tuple[dict, bool]:
    """Measure the chosen families inside one ExitStack, so everything is torn down."""
    from benchmarks.context import Context
    from benchmarks.timing import FULL, QUICK, SMOKE

    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    quick = sizes is not FULL
    families = chosen_families(args.only)
    started, ok = time.perf_counter(), True
    results: dict = {}
    with contextlib.ExitStack() as stack:
        ctx = Context(sizes, stack)
        for family in REGISTRY:
            if family not in families:
                results.update({key: {"status": "not run (--only)"} for key in REGISTRY[family]})
                continue
            figures, done = measure_family(ctx, family, quick)
            results.update(figures)
            ok = ok and done
        notes = list(ctx.notes)
    results["meta"] = describe_run(sizes.name, time.perf_counter() - started, families, notes)
    return results, ok


def describe_run(sizes: str, seconds: float, families: list[str], notes: list[str]) -> dict:
    """Where and how the figures were measured: they mean little without it."""
    return {
        "sizes": sizes,
        "families": families,
        "seconds": round(seconds, 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "notes": notes,
    }


def _terminated(signum, frame) -> None:
    raise SystemExit(f"terminated by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Parse, run, print the table, write the JSON; non-zero when a family failed."""
    args = parse_args(argv)
    # A terminated run still tears down its servers and scratch databases.
    signal.signal(signal.SIGTERM, _terminated)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.table import render

    results, ok = run(args)
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
