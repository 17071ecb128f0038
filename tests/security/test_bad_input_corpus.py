"""The bad-input corpus (``stress/bad_inputs.py``) runs with the suite: a change that makes
the product answer a bad input differently shows here, not at the next manual run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_bad_input_is_refused_clearly_and_moves_nothing(tmp_path):
    report_file = tmp_path / "bad-inputs.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "stress" / "bad_inputs.py"), "--json", str(report_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(report_file.read_text())

    assert report["failed"] == [], report["failed"]
    assert (report["state_moved"], report["crashes"]) == (0, 0)
    assert report["refused_clearly"] == report["cases"] >= 100
    assert done.returncode == 0, done.stderr[-2000:]
