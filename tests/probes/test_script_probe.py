"""The script probe: a job type's probe script run as a subprocess, with limits."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from capomastro_changes.detection.compare import decide
from capomastro_changes.probes.script import run_script
from capomastro_changes.revisions import Outcome, Revision, SourceRef, StoredState
from capomastro_changes.testing import repos

SOURCE = SourceRef("git", "https://alice:s3cret@example.com/x.git", "main")


def script(branch: Path, name: str, body: str) -> str:
    path = branch / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return name


def run(branch, name, source=SOURCE, last=None, timeout=2.0, max_output=4096):
    return run_script(branch, name, source, last, timeout=timeout, max_output=max_output)


def test_a_well_behaved_script_answers_with_its_revision(tmp_path):
    name = script(tmp_path, "probe", 'print(\'{"revision": "abc", "revno": 7}\')')
    answer = run(tmp_path, name)
    assert (answer.ok, answer.revision) == (True, Revision("abc", 7))


def test_the_script_gets_the_source_but_not_the_workers_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://admin:pw@db/prod")
    body = (
        "import json, os\n"
        "assert 'DATABASE_URL' not in os.environ\n"
        "print(json.dumps({'revision': os.environ['PROBE_URL'] + '|' + os.environ['PROBE_LAST'],"
        " 'revno': int(os.environ['PROBE_LAST_REVNO'])}))\n"
    )
    answer = run(tmp_path, script(tmp_path, "probe", body), last=Revision("r1", 1))
    assert answer.revision == Revision(f"{SOURCE.url}|r1", 1)


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "link"])
def test_a_script_path_may_not_leave_the_branch(tmp_path, name):
    branch = tmp_path / "branch"
    branch.mkdir()
    script(tmp_path, "outside", 'print(\'{"revision": "x"}\')')
    (branch / "link").symlink_to(tmp_path / "outside")
    answer = run(branch, name)
    assert "leads outside the job type's branch" in answer.error
    assert decide(StoredState("x"), answer).outcome is Outcome.ERROR


def test_a_missing_script_is_a_clear_error(tmp_path):
    answer = run(tmp_path, "probe")
    expected = "probe script 'probe': no such script in the job type's branch"
    assert answer.error == f"https://***@example.com/x.git: {expected}"


def test_a_failing_script_reports_its_reason_and_exit_3_means_missing(tmp_path):
    body = "import sys; print('cannot reach https://bob:pw@h/x', file=sys.stderr); sys.exit({})"
    failed = run(tmp_path, script(tmp_path, "fails", body.format(1)))
    assert "exited with status 1: cannot reach https://***@h/x" in failed.error
    assert "s3cret" not in failed.error and "pw@" not in failed.error
    assert not failed.missing
    gone = run(tmp_path, script(tmp_path, "gone", body.format(3)))
    assert gone.missing and decide(StoredState("x"), gone).outcome is Outcome.MISSING


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("Hello", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"revno": 3}', "no 'revision'"),
        ('{"revision": "a"}\\n{"revision": "b"}', "printed 2 lines"),
        ('{"revision": "a", "changed": "yes"}', "'changed' must be"),
        ("", "printed nothing"),
    ],
)
def test_garbage_output_is_an_error_not_a_change(tmp_path, output, message):
    answer = run(tmp_path, script(tmp_path, "probe", f"print('{output}', end='')"))
    assert message in answer.error
    assert decide(StoredState("a"), answer).outcome is Outcome.ERROR


def test_a_script_that_hangs_is_killed_at_the_time_limit(tmp_path):
    name = script(tmp_path, "probe", "import time; time.sleep(30)")
    started = time.monotonic()
    answer = run(tmp_path, name, timeout=1.0)
    assert time.monotonic() - started < 2
    assert "no answer within 1 seconds; killed" in answer.error


def test_a_script_that_floods_its_output_is_killed_at_the_cap(tmp_path):
    name = script(tmp_path, "probe", "import sys\nwhile True: sys.stdout.write('x' * 65536)")
    answer = run(tmp_path, name, max_output=100_000)
    assert "more than 100000 bytes of output; killed" in answer.error


def test_a_script_probe_on_a_local_clone_reports_a_force_push_as_rewritten(tmp_path):
    """bygmester-probe as the job type's script, reading a mirror that has the history."""
    repo = repos.make_git(tmp_path, commits=2)
    mirror = tmp_path / "mirror.git"
    repos.git("clone", "-q", "--mirror", str(repo.bare), str(mirror), cwd=tmp_path)
    branch = tmp_path / "jobtype"
    branch.mkdir()
    probe_cli = Path(sys.executable).parent / "bygmester-probe"
    script(branch, "probe", f"import os\nos.execv({str(probe_cli)!r}, [{str(probe_cli)!r}])\n")
    source = SourceRef("git", str(mirror), "main")

    def check(stored: StoredState):
        repos.git("fetch", "-q", "--prune", "origin", cwd=mirror)
        answer = run_script(branch, "probe", source, stored.last, timeout=10, max_output=4096,
                            allowed_schemes=("file",))  # fmt: skip
        return decide(stored, answer)

    stored = StoredState(repo.rev_parse("main"))
    repo.commit()
    assert check(stored).outcome is Outcome.CHANGED  # a fast-forward
    stored = StoredState(repo.rev_parse("main"))
    repo.rewrite()
    rewritten = check(stored)
    assert (rewritten.outcome, rewritten.new.id) == (Outcome.REWRITTEN, repo.rev_parse("main"))
