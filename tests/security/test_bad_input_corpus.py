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
    assert report["refused_clearly"] == report["cases"] >= 150
    assert done.returncode == 0, done.stderr[-2000:]


def corpus_case(run):
    from stress.corpus.case import Case, mark

    def with_mark() -> str:
        mark()
        return run()

    return Case("test", "a case", with_mark, expect="^refused")


@pytest.fixture
def a_dependency(db):
    from capomastro_changes.testing.factories import make_dependency

    return make_dependency()


@pytest.mark.parametrize("state", ["pending", "triggering", "waiting", "error"])
def test_a_bad_input_that_creates_a_request_in_any_state_counts_as_state_moved(a_dependency, state):
    from capomastro_changes.models import RebuildRequest
    from stress.corpus.case import run_case

    def run() -> str:
        made = RebuildRequest.objects.create(
            dependency=a_dependency, revision="new", reason="change", state=state
        )
        return f"refused, but request #{made.pk} was made"

    outcome = run_case(corpus_case(run))
    assert outcome.refused_clearly and outcome.state_moved
    assert outcome.moved == [f"request #{RebuildRequest.objects.get().pk} created ({state})"]


@pytest.mark.parametrize(("to", "moved"), [("error", False), ("refused", False), ("queued", True)])
def test_a_request_fed_a_bad_input_may_only_end_as_its_recorded_error(a_dependency, to, moved):
    from capomastro_changes.models import RebuildRequest
    from stress.corpus.case import run_case

    request = RebuildRequest.objects.create(
        dependency=a_dependency, revision="new", reason="change", state="triggering"
    )

    def run() -> str:
        RebuildRequest.objects.filter(pk=request.pk).update(state=to)
        return "refused: Jenkins said no"

    assert run_case(corpus_case(run)).state_moved is moved
