"""The bzr reader: (revno, revision-id) of a branch tip."""

from __future__ import annotations

import time

import pytest

from capomastro_changes.testing import repos, servers
from capomastro_changes.vcs.bzr import read_tip
from capomastro_changes.vcs.errors import MissingError, ReadError, ReadTimeout

ALLOWED = ("file", "bzr", "http")


def read(url, branch="", **kwargs):
    return read_tip(url, branch, allowed_schemes=ALLOWED, **kwargs)


def test_the_tip_is_the_branch_revno_and_revision_id(bzr_served):
    branch = repos.make_bzr(bzr_served.base / "trunk", commits=3)
    reading = read(bzr_served.url("trunk"))
    assert (reading.revision.revno, reading.revision.id) == branch.revision_info() == (
        3, branch.revision_info()[1],
    )  # fmt: skip


def test_a_branch_can_be_named_below_the_url(bzr_served):
    branch = repos.make_bzr(bzr_served.base / "trunk")
    root = bzr_served.url("").rstrip("/")
    assert read(root, "trunk").revision.id == branch.revision_info()[1]


def test_commits_and_uncommits_move_the_revno(bzr_served):
    branch = repos.make_bzr(bzr_served.base / "trunk", commits=2)
    url = bzr_served.url("trunk")
    assert read(url).revision.revno == 2
    branch.commit()
    assert read(url).revision.revno == 3
    revno, revid = branch.uncommit()
    assert (read(url).revision.revno, read(url).revision.id) == (2, revid)


def test_a_branch_that_does_not_exist_is_missing(bzr_served):
    with pytest.raises(MissingError, match="no bzr branch here"):
        read(bzr_served.url("nowhere"))


def test_history_at_hand_tells_an_overwritten_branch(tmp_path):
    trunk = repos.make_bzr(tmp_path / "trunk", commits=2)
    old = trunk.revision_info()[1]
    other = repos.make_bzr(tmp_path / "other", commits=4)
    trunk.overwrite_from(other)
    reading = read(str(tmp_path / "trunk"), last=[old])
    assert reading.revision.revno == 4
    assert reading.ancestry == ((old, False),)


def test_a_bzr_server_that_never_answers_is_an_error_within_the_time_limit():
    with servers.silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="no answer within 1 seconds"):
            read(f"bzr://127.0.0.1:{port}/trunk", timeout=1)
        assert time.monotonic() - started < 2


def test_an_http_server_that_never_answers_is_an_error_within_the_time_limit():
    with servers.silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="no answer within 1 seconds"):
            read(f"http://127.0.0.1:{port}/trunk", timeout=1)
        assert time.monotonic() - started < 2


def test_a_web_server_that_is_not_bzr_is_an_error():
    with servers.not_git_http() as root:
        with pytest.raises(ReadError) as caught:
            read(f"{root}/trunk", timeout=2)
    assert "report a bug" not in str(caught.value)


@pytest.mark.parametrize("scheme", ["bzr", "http"])
def test_a_refused_connection_is_an_error_that_hides_the_password(scheme):
    with servers.refused_port() as port:
        with pytest.raises(ReadError, match="connection refused") as caught:
            read(f"{scheme}://bob:s3cret@127.0.0.1:{port}/trunk", timeout=2)
    assert "s3cret" not in str(caught.value)
    assert not isinstance(caught.value, MissingError)
