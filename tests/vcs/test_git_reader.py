"""The git reader: the head of a branch, read from the ref advertisement."""

from __future__ import annotations

import time

import pytest

from capomastro_changes.testing import repos, servers
from capomastro_changes.vcs.errors import MissingError, ReadError, ReadTimeout, TooLargeError
from capomastro_changes.vcs.git import read_head

ALLOWED = ("file", "git", "http", "ssh")


def read(url, branch="", **kwargs):
    return read_head(url, branch, allowed_schemes=ALLOWED, **kwargs)


def test_the_branch_head_is_what_git_rev_parse_says(git_served):
    repo = repos.make_git(git_served.base, commits=2)
    url = git_served.url("project.git")
    expected = repo.rev_parse("main")
    assert read(url, "main").revision.id == expected
    assert read(url, "refs/heads/main").revision.id == expected
    assert read(url).revision.id == expected  # the remote HEAD
    assert read(url, "main").revision.revno is None


def test_a_new_commit_gives_a_new_head(git_served):
    repo = repos.make_git(git_served.base)
    url = git_served.url("project.git")
    before = read(url, "main").revision
    after_id = repo.commit()
    assert read(url, "main").revision.id == after_id != before.id


def test_a_tag_reads_as_the_commit_it_points_at_and_follows_when_moved(git_served):
    repo = repos.make_git(git_served.base, commits=2)
    first = repo.rev_parse("main~1")
    repo.tag("v1", first)
    url = git_served.url("project.git")
    assert read(url, "v1").revision.id == first
    repo.tag("v1", "main")
    assert read(url, "v1").revision.id == repo.rev_parse("main") != first


def test_a_deleted_branch_is_missing(git_served):
    repo = repos.make_git(git_served.base)
    repo.commit(branch="feature")
    url = git_served.url("project.git")
    assert read(url, "feature").revision.id == repo.rev_parse("feature")
    repo.delete_branch("feature")
    with pytest.raises(MissingError, match="no branch, ref or tag named 'feature'"):
        read(url, "feature")


def test_an_empty_repository_is_missing_and_says_it_is_empty(git_served):
    repos.make_empty_git(git_served.base)
    with pytest.raises(MissingError, match="empty"):
        read(git_served.url("empty.git"))


def test_a_repository_that_does_not_exist_is_missing(git_served):
    with pytest.raises(MissingError):
        read(git_served.url("nowhere.git"), "main")


def test_history_at_hand_tells_a_fast_forward_from_a_force_push(tmp_path):
    repo = repos.make_git(tmp_path)
    old = repo.rev_parse("main")
    new = repo.commit()
    assert read(str(repo.bare), "main", last=[old]).ancestry == ((old, True),)
    rewritten = repo.rewrite()
    reading = read(str(repo.bare), "main", last=[new, old])
    assert reading.revision.id == rewritten
    assert dict(reading.ancestry) == {new: False, old: True}


def test_a_remote_read_does_not_claim_to_know_history(tmp_path):
    repo = repos.make_git(tmp_path)
    with servers.git_daemon(tmp_path) as root:
        assert read(f"{root}/project.git", "main", last=[repo.rev_parse("main")]).ancestry == ()


@pytest.mark.parametrize("scheme", ["git", "http", "ssh"])
def test_a_server_that_never_answers_is_an_error_within_the_time_limit(scheme):
    with servers.silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="no answer within 1 seconds"):
            read(f"{scheme}://127.0.0.1:{port}/project.git", timeout=1)
        assert time.monotonic() - started < 3


def test_a_web_server_that_is_not_git_is_an_error():
    with servers.not_git_http() as root:
        with pytest.raises(ReadError, match="not a git smart-HTTP server") as caught:
            read(f"{root}/project.git", "main")
    assert not isinstance(caught.value, MissingError)


@pytest.mark.parametrize("scheme", ["git", "http", "ssh"])
def test_a_refused_connection_is_an_error_that_hides_the_password(scheme):
    with servers.refused_port() as port:
        with pytest.raises(ReadError, match="connection refused") as caught:
            read(f"{scheme}://alice:s3cret@127.0.0.1:{port}/project.git", timeout=5)
    assert "s3cret" not in str(caught.value)
    assert not isinstance(caught.value, MissingError)


def test_an_advertisement_larger_than_the_cap_is_refused(tmp_path):
    repos.make_git(tmp_path)
    with servers.git_daemon(tmp_path) as root:
        with pytest.raises(TooLargeError, match="more than 64 bytes"):
            read(f"{root}/project.git", "main", max_bytes=64)


@pytest.mark.parametrize("server", [servers.git_daemon, servers.git_http])
def test_ten_thousand_refs_cost_no_more_than_one(tmp_path, server):
    repo = repos.make_git(tmp_path)
    head = repo.rev_parse("main")
    lines = [f"{head} refs/heads/feature-{n:05d}" for n in range(10_000)]
    (repo.bare / "packed-refs").write_text("\n".join(lines) + "\n")
    # The whole advertisement is ~600 kB: only a ref-prefix request fits in 4 kB.
    with server(tmp_path) as root:
        assert read(f"{root}/project.git", "main", max_bytes=4096).revision.id == head
        assert read(f"{root}/project.git", "feature-09999", max_bytes=4096).revision.id == head


def test_a_missing_repository_s_message_is_one_short_line_without_credentials(tmp_path):
    """The server's own words are shown, as for every other failure: scrubbed and cut."""
    with servers.git_daemon(tmp_path) as root:
        with pytest.raises(MissingError) as secret:
            read(f"{root}/mirror-of-https://alice:s3cret@h.example/x.git")
        with pytest.raises(MissingError) as long:
            read(f"{root}/{'x' * 600}.git")
    assert "s3cret" not in secret.value.reason and "no such repository" in secret.value.reason
    assert len(long.value.reason) <= 300 and "\n" not in long.value.reason
