"""The benchmark harness runs end to end on tiny sizes and reports every figure of issue 7.

It runs ``benchmarks/run.py --smoke`` in a child process (the harness sets
Django up on its own scratch database, which a test process must not do) and
judges the JSON's shape only: timings on a shared machine prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEASURED = (
    "git_check_vs_ls_remote",
    "git_client_overhead_vs_ls_remote",
    "git_check_vs_raw",
    "git_many_refs_ms",
    "bzr_check_vs_cli",
    "due_select_100k_ms",
    "lock_pairs_per_s",
)
ENGINE = (
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
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> tuple[dict, str]:
    """One tiny run of the real harness: its JSON and its printed table."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
def test_every_figure_of_the_issue_is_a_key_in_the_json(smoke_run):
    results, _ = smoke_run
    assert set(MEASURED + ENGINE) <= set(results)
    assert results["meta"]["sizes"] == "smoke"


@pytest.mark.slow
@pytest.mark.parametrize("key", MEASURED)
def test_a_measured_figure_has_ours_the_anchor_a_positive_ratio_and_a_verdict(smoke_run, key):
    figure = smoke_run[0][key]
    assert figure["status"] == "measured"
    for field in ("value", "anchor", "ratio"):
        assert isinstance(figure[field], float) and figure[field] > 0, (field, figure)
    assert figure["goal"] and figure["anchor_is"] and figure["unit"]
    assert isinstance(figure["met"], bool)


@pytest.mark.slow
@pytest.mark.parametrize("key", ENGINE)
def test_an_engine_figure_says_smoke_runs_skip_it(smoke_run, key):
    """The engine's figures start a worker and 1,000 sources: too much for a smoke run."""
    assert smoke_run[0][key]["status"].startswith("not measured: --smoke skips the engine")


@pytest.mark.slow
def test_the_due_query_is_served_by_its_index(smoke_run):
    details = smoke_run[0]["due_select_100k_ms"]["details"]
    assert details["plan_uses_index"] is True
    assert "sourcestate_due" not in details["plan_without_index"]


@pytest.mark.slow
def test_the_table_shows_every_figure(smoke_run):
    _, table = smoke_run
    for key in MEASURED + ENGINE:
        assert f"| {key} " in table


@pytest.mark.slow
def test_a_postgresql_scratch_database_is_dropped_after_the_run(smoke_run):
    database = smoke_run[0]["due_select_100k_ms"]["details"]["database"]
    if not database.startswith("PostgreSQL"):
        pytest.skip("the run used SQLite (a temporary file)")
    import psycopg

    name = database.rsplit(" ", 1)[1].rstrip(")")
    with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=10) as conn:
        left = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchall()
    assert left == []
