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

    # A command pointed at the demo's data reads its sources as the demo did (file://).
    demo_dir = tmp_path / ".capomastro-changes" / "demo"
    checked = subprocess.run(
        [str(command), "check", "libfoo", "--data-dir", str(demo_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "scheme" not in checked.stdout + checked.stderr


@pytest.fixture
def demo_world(tmp_path, db, settings):
    from capomastro_changes.cli.demo_world import make_world

    # As the demo runs (CAPOMASTRO_CHANGES_ALLOW_FILE_URLS=1): its repositories are local.
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("https", "http", "ssh", "git", "bzr", "file")
    from capomastro_changes.testing.jenkins import JenkinsStandIn

    with JenkinsStandIn(quiet_period=0, root=tmp_path / "jenkins") as jenkins:
        yield make_world(tmp_path / "repos", jenkins)


def built(job: str, revision: str):
    from capomastro_changes.testing.jenkins.state import BuildRecord

    return BuildRecord(job, 1, 1, {"REVISION": revision}, 1.0, 2.0, "SUCCESS")


def test_a_commit_the_system_never_saw_counts_as_a_lost_change(demo_world):
    from capomastro_changes.cli.narration import lost_changes

    assert lost_changes(demo_world, []) == []  # nothing moved yet
    tip = demo_world.libfoo_repo.commit(message="never checked")
    # The system's own records still say libfoo is up to date; the repository does not.
    assert lost_changes(demo_world, []) == [f"libfoo at {tip[:12]}"]
    assert lost_changes(demo_world, [built("libfoo", tip)]) == []


def test_a_change_whose_request_ended_in_error_is_lost_and_a_discarded_one_is_not(demo_world):
    from capomastro_changes.cli.narration import lost_changes
    from capomastro_changes.models import RebuildRequest

    _, revid = demo_world.libbar_branch.commit("libbar: new API")
    make = RebuildRequest.objects.create
    make(dependency=demo_world.libbar, revision=revid, reason="change", state="error")
    assert lost_changes(demo_world, []) == [f"libbar at {revid[-12:]}"]  # not its committer
    make(dependency=demo_world.libbar, revision=revid, reason="change", state="discarded")
    assert lost_changes(demo_world, []) == []
