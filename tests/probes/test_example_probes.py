"""The example probe scripts shipped in bygmester_hooks: they answer, and they fail right.

A gone repository or branch must exit 3 (``missing``); a refused connection,
a scheme the deployment does not allow, anything else, exit 2 (``error``),
with a reason and never a password.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import bygmester_hooks
from capomastro_changes.detection.compare import decide
from capomastro_changes.probes.script import ScriptProbe, run_script
from capomastro_changes.revisions import Outcome, Revision, SourceRef, StoredState
from capomastro_changes.testing import repos, servers

EXAMPLES = Path(bygmester_hooks.__file__).parent / "examples"
GIT_EXAMPLES = ("probe-git", "probe-release-tags")


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch):
    """``brz`` (in this interpreter's bin directory) and ``git`` for the scripts."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def run(name, source, allowed=("file", "git", "http", "bzr"), last=None):
    return run_script(EXAMPLES, name, source, last, timeout=20, max_output=4096,
                      allowed_schemes=allowed)  # fmt: skip


def test_the_example_git_probe_reads_a_served_branch(tmp_path):
    repo = repos.make_git(tmp_path)
    with servers.git_daemon(tmp_path) as root:
        source = SourceRef("git", f"{root}/project.git", "main")
        assert run("probe-git", source).revision == Revision(repo.rev_parse("main"))
        gone = run("probe-git", SourceRef("git", source.url, "nope"))
    assert gone.missing and "no branch refs/heads/nope" in gone.error


def test_the_example_bzr_probe_reads_a_branch(tmp_path):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=2)
    revno, revid = trunk.revision_info()
    answer = run("probe-bzr", SourceRef("bzr", str(tmp_path), "trunk"))
    assert answer.revision == Revision(revid, revno)


def test_the_release_tag_example_decides_for_itself(tmp_path, probe_settings):
    repo = repos.make_git(tmp_path)
    repo.tag("v1.9.0")
    probe = ScriptProbe(EXAMPLES, "probe-release-tags")
    source = SourceRef("git", str(repo.bare))
    probe_settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 10.0
    stored = StoredState(probe(source).revision.id)
    assert stored.last_revision == "v1.9.0"
    repo.commit()  # a commit is not a release: no build
    assert decide(stored, probe(source, [stored.last])).outcome is Outcome.UNCHANGED
    repo.tag("v1.10.0")
    decision = decide(stored, probe(source, [stored.last]))
    assert (decision.outcome, decision.new.id) == (Outcome.CHANGED, "v1.10.0")


@pytest.mark.parametrize("name", GIT_EXAMPLES)
@pytest.mark.parametrize("served", ["path", "git-daemon"])
def test_a_gone_git_repository_is_missing(tmp_path, name, served):
    with servers.git_daemon(tmp_path) as root:
        url = f"{root if served == 'git-daemon' else tmp_path}/nowhere.git"
        answer = run(name, SourceRef("git", url, "main"))
    assert answer.missing, answer.error
    assert "no git repository at the source" in answer.error
    assert decide(StoredState("a1"), answer).outcome is Outcome.MISSING


@pytest.mark.parametrize("name", GIT_EXAMPLES)
def test_a_refused_git_connection_is_an_error_not_missing(name):
    with servers.refused_port() as port:
        answer = run(name, SourceRef("git", f"git://alice:s3cret@127.0.0.1:{port}/x.git", "main"))
    assert not answer.missing and "exited with status 2" in answer.error
    assert "git ls-remote failed" in answer.error and "s3cret" not in answer.error
    assert decide(StoredState("a1"), answer).outcome is Outcome.ERROR


@pytest.mark.parametrize("name", GIT_EXAMPLES)
def test_the_git_examples_keep_to_the_allowed_schemes(tmp_path, name):
    repo = repos.make_git(tmp_path)
    repo.tag("v1.0.0")
    source = SourceRef("git", str(repo.bare), "main")
    assert run(name, source, allowed=("file",)).ok
    refused = run(name, source, allowed=("https", "git"))
    assert not refused.missing and "transport 'file' not allowed" in refused.error


def test_a_gone_bzr_branch_is_missing(tmp_path):
    answer = run("probe-bzr", SourceRef("bzr", str(tmp_path / "nowhere")))
    assert answer.missing and "no bzr branch at the source" in answer.error


@pytest.mark.parametrize("scheme", ["bzr", "http"])
def test_a_refused_bzr_connection_is_an_error_not_missing(scheme):
    with servers.refused_port() as port:
        answer = run("probe-bzr", SourceRef("bzr", f"{scheme}://bob:s3cret@127.0.0.1:{port}/b"))
    assert not answer.missing and "exited with status 2" in answer.error
    assert "Connection refused" in answer.error and "s3cret" not in answer.error
    assert decide(StoredState("a1"), answer).outcome is Outcome.ERROR


def test_the_bzr_example_keeps_to_the_allowed_schemes(tmp_path):
    repos.make_bzr(tmp_path / "trunk")
    answer = run("probe-bzr", SourceRef("bzr", str(tmp_path / "trunk")), allowed=("bzr",))
    assert not answer.missing and "the 'file' scheme is not allowed here" in answer.error


def test_every_example_is_tested_here():
    assert sorted(p.name for p in EXAMPLES.iterdir()) == ["probe-bzr", *sorted(GIT_EXAMPLES)]
    assert shutil.which("git") and shutil.which("brz")
