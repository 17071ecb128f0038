"""The demo, as the README runs it: from nothing to narrated builds, nothing lost or doubled."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_demo_detects_changes_in_git_and_bzr_and_builds_each_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = Path(sys.executable).parent / "capomastro-changes"
    done = subprocess.run(
        [str(command), "demo", "--no-serve", "--port", "0", "--json", "summary.json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["changes_detected"]["git"] >= 1 and summary["changes_detected"]["bzr"] >= 1
    assert summary["outcomes"]["rewritten"] >= 1
    assert summary["builds_triggered"] >= 3 and summary["linked_dependencies"] >= 1
    assert summary["superseded_requests"] >= 1
    assert summary["duplicate_builds"] == 0 and summary["lost_changes"] == 0
    assert "history was REWRITTEN" in done.stdout
    assert "libbaz linked to libbaz #7" in done.stdout
