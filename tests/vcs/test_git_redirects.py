"""HTTP redirects are followed only where the URL policy allows, and never with credentials
to another host."""

from __future__ import annotations

import pytest

from capomastro_changes.testing import repos, servers
from capomastro_changes.vcs.errors import MissingError, PolicyError, ReadError
from capomastro_changes.vcs.git import read_head


def read(url, allowed=("http",)):
    return read_head(url, "main", timeout=5, allowed_schemes=allowed)


def test_a_redirect_to_another_smart_http_server_is_followed(tmp_path, redirector):
    repo = repos.make_git(tmp_path)
    with servers.git_http(tmp_path) as real:
        moved = redirector(lambda path: real + path)
        assert read(f"{moved}/project.git").revision.id == repo.rev_parse("main")


def test_a_redirect_to_a_refused_scheme_is_not_followed(redirector, counting_listener):
    target = f"https://127.0.0.1:{counting_listener.port}"
    moved = redirector(lambda path: target + path)
    with pytest.raises(PolicyError, match="redirected to https://.*'https' scheme is not allowed"):
        read(f"{moved}/project.git")
    assert counting_listener.connections == 0


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ext::sh -c id", "ftp://h/x.git"])
def test_a_redirect_out_of_http_is_refused(redirector, target):
    moved = redirector(lambda path: target)
    with pytest.raises(PolicyError, match="redirected to"):
        read(f"{moved}/project.git", allowed=("http", "file"))


def test_credentials_are_not_sent_on_to_another_host(redirector, http_recorder):
    elsewhere, seen = http_recorder
    moved = redirector(lambda path: elsewhere + path)
    with pytest.raises(MissingError):
        read(moved.replace("http://", "http://alice:s3cret@") + "/project.git")
    assert len(seen) == 1
    assert not set(seen[0]) & {"authorization", "cookie"}


def test_a_redirect_loop_ends_after_three_hops(redirector):
    loop = redirector(lambda path: path)
    with pytest.raises(ReadError, match="more than 3 redirects"):
        read(f"{loop}/project.git")
