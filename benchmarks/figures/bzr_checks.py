"""bzr: our in-process check against ``brz revision-info -d URL``.

The ratio is a cost ratio, our median time ÷ the CLI's, measured on the same
servers and branches: ``bzr://`` (``brz serve``) and plain HTTP. The CLI pays
for starting Python and loading breezy on every call, which is exactly what a
poller that shells out pays; the reported ratio is the worst transport's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.repos import make_bzr_branch
from benchmarks.timing import figure, interleaved, median_ms, spread
from capomastro_changes.testing import servers
from capomastro_changes.vcs import bzr

BRANCHES = ("trunk", "release")
GOAL = 0.02


def measure(ctx, quick: bool) -> dict:
    """Make two branches, serve them over bzr:// and HTTP, measure both readers."""
    base = ctx.scratch("bzr")
    for name in BRANCHES:
        make_bzr_branch(base / name, ctx.env)
    transports = {
        "bzr": ctx.enter(servers.brz_serve(base)),
        "http": ctx.enter(servers.static_http(base)),
    }
    rows = {name: _compare(ctx, url) for name, url in transports.items()}
    worst = max(rows, key=lambda t: rows[t]["ratio"])
    return {
        "bzr_check_vs_cli": figure(
            rows[worst]["ours"]["median_ms"],
            rows[worst]["cli"]["median_ms"],
            rows[worst]["ratio"],
            unit=f"ms per check ({worst}://)",
            anchor_is="brz revision-info -d URL (a process per check, as a shell poller runs)",
            goal=f"ratio <= {GOAL}",
            met=all(row["ratio"] <= GOAL for row in rows.values()),
            worst_transport=worst,
            transports=rows,
            branches=list(BRANCHES),
        )
    }


def _compare(ctx, base_url: str) -> dict:
    """Ours and the CLI on every branch, interleaved; the CLI gets fewer rounds (it is slow)."""
    urls = [f"{base_url}/{name}" for name in BRANCHES]
    brz = str(Path(sys.executable).parent / "brz")
    _agree(urls, brz, ctx.env)

    def ours() -> None:
        for url in urls:
            bzr.read_tip(url, timeout=10)

    def cli() -> None:
        for url in urls:
            argv = [brz, "revision-info", "-d", url]
            subprocess.run(argv, env=ctx.env, check=True, capture_output=True, timeout=60)

    rounds = ctx.sizes.cli_rounds
    samples = interleaved({"ours": ours, "cli": cli}, min(ctx.sizes.warmups, 1), rounds)
    samples = {name: [s / len(urls) for s in values] for name, values in samples.items()}
    return {
        "ours": spread(samples["ours"]),
        "cli": spread(samples["cli"]),
        "ratio": round(median_ms(samples["ours"]) / median_ms(samples["cli"]), 4),
    }


def _agree(urls: list[str], brz: str, env: dict) -> None:
    """Refuse to time anything unless ours and the CLI name the same revision."""
    for url in urls:
        ours = bzr.read_tip(url, timeout=10).revision
        argv = [brz, "revision-info", "-d", url]
        theirs = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
        revno, revision_id = theirs.stdout.split()
        if (int(revno), revision_id) != (ours.revno, ours.id):
            raise RuntimeError(f"{url}: ours read {ours}, brz revision-info {theirs.stdout!r}")
