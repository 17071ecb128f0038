"""The bzr reader's fast path: one request for a remote tip, the full open when it cannot tell.

Every branch here is served by a real ``brz serve`` or a real HTTP server; the
HTTP one counts the requests it answers. Whether the reader opened the branch
the ordinary way is seen by counting calls of ``Branch.open_from_transport``.
"""

from __future__ import annotations

import contextlib
import http.server
import threading

import pytest
from breezy.branch import Branch

from capomastro_changes.testing import repos, servers
from capomastro_changes.vcs import bzr
from capomastro_changes.vcs.errors import MissingError, ReadError

ALLOWED = ("file", "bzr", "http")


@contextlib.contextmanager
def counting_http(directory):
    """Plain HTTP for ``directory``, recording the path of every request it answers."""
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def send_head(self):
            seen.append(self.path)
            return super().send_head()

        def log_message(self, format, *args):  # noqa: A002
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(params=["brz-serve", "http"])
def remote(request, tmp_path):
    """Branches below ``base``, served over bzr:// or plain HTTP; ``requests`` for HTTP only."""
    base = tmp_path / "branches"
    base.mkdir()
    with contextlib.ExitStack() as stack:
        if request.param == "brz-serve":
            root, seen = stack.enter_context(servers.brz_serve(base)), None
        else:
            root, seen = stack.enter_context(counting_http(base))
        yield base, root, seen


@pytest.fixture
def opens(monkeypatch):
    """How many times the reader opened a branch the ordinary way."""
    calls: list[str] = []
    original = Branch.open_from_transport

    def counted(transport, *args, **kwargs):
        calls.append(transport.base)
        return original(transport, *args, **kwargs)

    monkeypatch.setattr(bzr.Branch, "open_from_transport", counted)
    return calls


def read(url, **kwargs):
    return bzr.read_tip(url, allowed_schemes=ALLOWED, timeout=10, **kwargs)


def test_a_remote_2a_branch_is_read_with_one_request_and_never_opened(remote, opens):
    base, root, seen = remote
    branch = repos.make_bzr(base / "trunk", commits=3)
    reading = read(f"{root}/trunk")
    assert (reading.revision.revno, reading.revision.id) == branch.revision_info()
    assert opens == []
    if seen is not None:
        assert seen == ["/trunk/.bzr/branch/last-revision"]


def test_the_fast_path_follows_commits_and_uncommits(remote, opens):
    base, root, _ = remote
    branch = repos.make_bzr(base / "trunk", commits=2)
    branch.commit()
    assert read(f"{root}/trunk").revision.revno == 3
    revno, revid = branch.uncommit()
    assert (read(f"{root}/trunk").revision.revno, read(f"{root}/trunk").revision.id) == (
        revno, revid,
    )  # fmt: skip
    assert opens == []


def test_an_empty_branch_reads_as_revno_zero(remote, opens):
    base, root, _ = remote
    repos.make_bzr(base / "empty", commits=0)
    reading = read(f"{root}/empty")
    assert (reading.revision.revno, reading.revision.id) == (0, "null:")
    assert opens == []


def test_a_stacked_branch_keeps_its_own_tip_and_needs_no_fallback(remote, opens):
    from breezy.controldir import ControlDir

    base, root, _ = remote
    trunk = repos.make_bzr(base / "trunk", commits=2)
    ControlDir.open(str(trunk.path)).sprout(str(base / "feature"), stacked=True)
    feature = repos.BzrBranch(base / "feature")
    assert Branch.open(str(feature.path)).get_stacked_on_url()
    feature.commit("on the stacked branch")
    reading = read(f"{root}/feature")
    assert (reading.revision.revno, reading.revision.id) == feature.revision_info()
    assert reading.revision.revno == 3
    assert opens == []


def test_an_old_format_branch_is_opened_over_http_and_asked_over_bzr(remote, opens):
    """A knit branch has no last-revision file: over HTTP the reader opens it; a smart
    server opens it itself and answers the one call."""
    import breezy.bzr  # noqa: F401
    from breezy.controldir import ControlDir, format_registry
    from breezy.workingtree import WorkingTree

    base, root, seen = remote
    path = base / "old"
    ControlDir.create_standalone_workingtree(str(path), format_registry.make_controldir("knit"))
    tree = WorkingTree.open(str(path))
    for n in range(2):
        tree.commit(f"old {n}", committer="Test <test@example.com>")
    assert not (path / ".bzr" / "branch" / "last-revision").exists()
    reading = read(f"{root}/old")
    assert (reading.revision.revno, reading.revision.id) == repos.BzrBranch(path).revision_info()
    assert reading.revision.revno == 2
    assert len(opens) == (1 if seen is not None else 0)


def test_a_branch_reference_falls_back_to_opening_it_and_reads_its_target(remote, opens):
    base, root, _ = remote
    trunk = repos.make_bzr(base / "trunk", commits=2)
    Branch.open(str(trunk.path)).create_checkout(str(base / "checkout"), lightweight=True)
    reading = read(f"{root}/checkout")
    assert (reading.revision.revno, reading.revision.id) == trunk.revision_info()
    assert len(opens) == 1


def test_a_missing_branch_falls_back_and_is_missing(remote, opens):
    _, root, _ = remote
    with pytest.raises(MissingError, match="no bzr branch here"):
        read(f"{root}/nowhere")
    assert len(opens) == 1


def test_a_corrupt_tip_record_is_a_read_error_never_a_tip(remote):
    base, root, _ = remote
    branch = repos.make_bzr(base / "trunk")
    (branch.path / ".bzr" / "branch" / "last-revision").write_bytes(b"not a tip\n" * 1000)
    with pytest.raises(ReadError) as caught:
        read(f"{root}/trunk")
    assert not isinstance(caught.value, MissingError)


def test_a_corrupt_local_tip_record_is_a_read_error(tmp_path):
    branch = repos.make_bzr(tmp_path / "trunk")
    (branch.path / ".bzr" / "branch" / "last-revision").write_bytes(b"garbage\n")
    with pytest.raises(ReadError, match="unreadable branch data"):
        read(str(branch.path))


def test_a_record_longer_than_the_bound_is_not_taken_for_a_tip():
    long_id = b"x" * (bzr.MAX_TIP_RECORD + 10)
    assert bzr._parse_tip(b"7 " + long_id) is None
    assert bzr._parse_tip(b"7 rev-id\n") == (7, b"rev-id")
    for bad in (b"", b"7", b"-1 rev\n", b"07 rev\n", b"7 rev id\n", b"<html>", b"7 rev\n\n"):
        assert bzr._parse_tip(bad) is None, bad
