"""bygmester-probe: the protocol on the command line, as a builder runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bygmester_hooks.probe_cli import main
from capomastro_changes.testing import repos, servers

BIN = Path(sys.executable).parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "bygmester-probe"), *args], capture_output=True, text=True, timeout=60
    )


def test_the_git_answer_is_what_git_rev_parse_says(tmp_path):
    repo = repos.make_git(tmp_path, commits=2)
    with servers.git_http(tmp_path) as root:
        done = run_cli("--vcs", "git", "--url", f"{root}/project.git", "--branch", "main")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["revision"] == repos.git("rev-parse", "main", cwd=repo.bare)
    assert (result["vcs"], result["branch"], result["revno"]) == ("git", "main", None)
    assert "outcome" not in result


def test_the_bzr_answer_is_what_brz_revision_info_says(tmp_path):
    repos.make_bzr(tmp_path / "trunk", commits=3)
    info = subprocess.run(
        [str(BIN / "brz"), "revision-info", "-d", str(tmp_path / "trunk")],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    with servers.brz_serve(tmp_path) as root:
        done = run_cli("--vcs", "bzr", "--url", f"{root}/trunk", "--last", info[1])
    result = json.loads(done.stdout)
    assert [str(result["revno"]), result["revision"]] == info
    assert result["outcome"] == "unchanged"


def test_the_outcome_is_given_when_the_last_revision_is(tmp_path, capsys):
    repo = repos.make_git(tmp_path, commits=2)
    old = repo.rev_parse("main")
    repo.rewrite()
    url = str(repo.bare)
    assert main(["--vcs", "git", "--url", url, "--allow-scheme", "file", "--last", old]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["outcome"], result["descends"]) == ("rewritten", False)


def test_descends_is_said_only_where_history_is_at_hand(tmp_path, capsys):
    repo = repos.make_git(tmp_path)
    old = repo.rev_parse("main")
    repo.commit()
    args = ["--vcs", "git", "--allow-scheme", "file", "--last", old, "--branch", "main"]
    assert main([*args, "--url", str(repo.bare)]) == 0
    local = json.loads(capsys.readouterr().out)
    with servers.git_daemon(tmp_path) as root:
        assert main([*args, "--allow-scheme", "git", "--url", f"{root}/project.git"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert (local["outcome"], local["descends"]) == ("changed", True)
    assert remote["outcome"] == "changed" and "descends" not in remote


def test_a_gone_branch_exits_3_and_an_unreachable_server_2_with_one_line(tmp_path, capsys):
    repo = repos.make_git(tmp_path)
    args = ["--vcs", "git", "--allow-scheme", "file"]
    assert main([*args, "--url", str(repo.bare), "--branch", "gone"]) == 3
    with servers.refused_port() as port:
        assert main([*args, "--url", f"git://u:pw@127.0.0.1:{port}/x.git"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("bygmester-probe: ") and "'gone'" in err[0]
    assert err[1].endswith("connection refused") and "pw@" not in err[1]


def test_local_paths_need_an_explicit_allowance(tmp_path, capsys):
    repo = repos.make_git(tmp_path)
    assert main(["--vcs", "git", "--url", str(repo.bare)]) == 2
    assert "'file' scheme is not allowed here" in capsys.readouterr().err


def test_the_source_can_come_from_the_probe_environment(tmp_path, monkeypatch, capsys):
    repo = repos.make_git(tmp_path)
    monkeypatch.setenv("PROBE_VCS", "git")
    monkeypatch.setenv("PROBE_URL", str(repo.bare))
    monkeypatch.setenv("PROBE_ALLOWED_SCHEMES", "file")
    assert main([]) == 0
    assert json.loads(capsys.readouterr().out)["revision"] == repo.rev_parse("main")


def test_the_command_imports_nothing_from_django():
    code = (
        "import sys, bygmester_hooks.probe_cli, capomastro_changes.vcs.git, "
        "capomastro_changes.vcs.bzr\n"
        "sys.exit(any(name.split('.')[0] == 'django' for name in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [("--url=-oProxyCommand=x", "may not start with '-'"), ("--url=ext::sh -c x", "remote-helper")],
)
def test_option_like_and_helper_urls_are_refused_before_any_traffic(bad, message, capsys):
    assert main(["--vcs", "git", bad]) == 2
    assert message in capsys.readouterr().err


def overwritten_bzr(tmp_path):
    """``trunk`` at r3, its old tip revision id, then uncommitted and overwritten (r2+1 new)."""
    trunk = repos.make_bzr(tmp_path / "trunk", commits=3)
    old = trunk.revision_info()[1]
    side = repos.sprout_bzr(trunk, tmp_path / "side")
    side.uncommit()
    side.commit("the same revno, another revision")
    assert trunk.overwrite_from(side)[0] == 3
    return trunk, old


def test_a_bzr_branch_overwritten_under_the_last_revision_id_is_rewritten_over_bzr(
    tmp_path,
):
    trunk, old = overwritten_bzr(tmp_path)
    with servers.brz_serve(tmp_path) as root:
        done = run_cli("--vcs", "bzr", "--url", f"{root}/trunk", "--last", old)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["revision"], result["outcome"], result["descends"]) == (
        trunk.revision_info()[1], "rewritten", False)  # fmt: skip


def test_a_bzr_branch_uncommitted_under_the_last_revision_id_is_rewritten_over_http(
    tmp_path,
):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=3)
    old = trunk.revision_info()[1]
    trunk.uncommit()
    with servers.static_http(tmp_path) as root:
        done = run_cli("--vcs", "bzr", "--url", f"{root}/trunk", "--last", old)
        kept = run_cli("--vcs", "bzr", "--url", f"{root}/trunk", "--last", trunk.revision_info()[1])
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["outcome"], json.loads(done.stdout)["descends"]) == (
        "rewritten", False)  # fmt: skip
    assert json.loads(kept.stdout)["outcome"] == "unchanged"


def test_a_bzr_branch_that_only_grew_is_changed_not_rewritten_over_http(tmp_path):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=2)
    old = trunk.revision_info()[1]
    trunk.commit("more")
    with servers.static_http(tmp_path) as root:
        done = run_cli("--vcs", "bzr", "--url", f"{root}/trunk", "--last", old)
    assert (json.loads(done.stdout)["outcome"], json.loads(done.stdout)["descends"]) == (
        "changed", True)  # fmt: skip


def test_a_git_force_push_back_under_the_last_commit_is_rewritten_where_history_is_at_hand(
    tmp_path, capsys
):
    repo = repos.make_git(tmp_path, commits=2)
    first = repo.rev_parse("main~1")
    withdrawn = repo.commit(message="withdrawn")
    repo.force_back(first)
    args = ["--vcs", "git", "--url", str(repo.bare), "--allow-scheme", "file", "--branch", "main"]
    assert main([*args, "--last", withdrawn]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["revision"], result["outcome"], result["descends"]) == (
        first, "rewritten", False)  # fmt: skip
