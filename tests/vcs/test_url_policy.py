"""The URL policy: refused sources never reach the network."""

from __future__ import annotations

import time

import pytest

from capomastro_changes.revisions import SourceRef
from capomastro_changes.vcs import read
from capomastro_changes.vcs.errors import PolicyError, ReadError
from capomastro_changes.vcs.urls import (
    DEFAULT_ALLOWED_SCHEMES,
    check,
    userinfo,
    without_userinfo,
)

EVERYTHING = ("file", "git", "http", "https", "ssh", "bzr", "bzr+ssh")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ext::sh -c touch% /tmp/pwned", "remote-helper syntax"),
        ("fd::17", "remote-helper syntax"),
        ("-uhttps://example.com/x.git", "may not start with '-'"),
        ("ssh://-oProxyCommand=x/repo", "no valid host name"),
        ("-oProxyCommand=x:repo", "may not start with '-'"),
        ("https://example.com/a b.git", "spaces or control characters"),
        ("https://example.com/a%0a.git", "spaces or control characters"),
        ("relative/path.git", "not a URL or an absolute path"),
        ("file://otherhost/srv/x.git", "must name a local path"),
        ("ftp://example.com/x.git", "'ftp' scheme cannot be read for git"),
        ("", "empty"),
    ],
)
def test_dangerous_or_malformed_git_urls_are_refused(url, message):
    with pytest.raises(PolicyError, match=message):
        check("git", url, "main", EVERYTHING)


@pytest.mark.parametrize("branch", ["-delete", "a..b", "main:other", "x y", "main\n", "a/"])
def test_branch_names_that_could_be_options_or_tricks_are_refused(branch):
    with pytest.raises(PolicyError):
        check("git", "https://example.com/x.git", branch, EVERYTHING)


@pytest.mark.parametrize("branch", ["../etc", "/abs", "a/../../b", "x,branch=y", "c:\\x"])
def test_bzr_branch_paths_may_not_escape_the_url(branch):
    with pytest.raises(PolicyError):
        check("bzr", "bzr://example.com/repo", branch, EVERYTHING)


def test_local_paths_are_off_unless_file_is_allowed(tmp_path):
    with pytest.raises(PolicyError, match="'file' scheme is not allowed here"):
        check("git", str(tmp_path), "", DEFAULT_ALLOWED_SCHEMES)
    with pytest.raises(PolicyError, match="not allowed here"):
        check("bzr", f"file://{tmp_path}", "", DEFAULT_ALLOWED_SCHEMES)
    assert check("git", str(tmp_path), "", ["file"]).path == str(tmp_path)


def test_common_source_forms_are_accepted_and_split():
    https = check("git", "https://bob:pw@example.com:8443/x.git", "v1.0", EVERYTHING)
    assert (https.scheme, https.host, https.port, https.username, https.password) == (
        "https", "example.com", 8443, "bob", "pw",
    )  # fmt: skip
    assert https.display == "https://***@example.com:8443/x.git"
    scp = check("git", "git@example.com:team/x.git", "refs/heads/main", EVERYTHING)
    assert (scp.scheme, scp.host, scp.username, scp.path) == (
        "ssh", "example.com", "git", "team/x.git",
    )  # fmt: skip
    assert check("git", "git+ssh://example.com/x.git", "", ["ssh"]).scheme == "ssh"
    assert check("bzr", "bzr+ssh://example.com/trunk", "", EVERYTHING).scheme == "bzr+ssh"


def test_a_scheme_the_vcs_cannot_speak_is_refused_even_if_allowed():
    with pytest.raises(PolicyError, match="cannot be read for bzr"):
        check("bzr", "git://example.com/x", "", EVERYTHING)


def test_passwords_never_reach_messages():
    with pytest.raises(PolicyError) as caught:
        check("git", "https://bob:hunter2@example.com/a b", "", EVERYTHING)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "credentials"),
    [
        ("https://probe:s3cret@git.example.com/repo.git", "probe:s3cret"),
        ("https://probe:p%40ss%2Fword@git.example.com:8443/repo.git", "probe:p%40ss%2Fword"),
        ("bzr+ssh://builder@bzr.example.com/trunk", "builder"),
        ("https://git.example.com/team/repo@v2.git", ""),
        ("lp:project", ""),
    ],
)
def test_the_userinfo_taken_off_a_url_puts_it_back_together(url, credentials):
    """What the Jenkins probe job does with SOURCE_URL and SOURCE_CREDENTIALS."""
    bare = without_userinfo(url)
    assert userinfo(url) == credentials
    assert not credentials or credentials not in bare
    joined = bare.replace("://", f"://{credentials}@", 1) if credentials else bare
    assert joined == url


@pytest.mark.parametrize(
    ("vcs", "url", "branch"),
    [
        ("git", "https://127.0.0.1:{port}/x.git", "main"),  # scheme not allowed here
        ("git", "ssh://127.0.0.1:{port}/x.git", "main"),
        ("git", "git://127.0.0.1:{port}/x.git", "main"),
        ("git", "http://127.0.0.1:{port}/x.git", "--upload-pack=id"),
        ("git", "http://127.0.0.1:{port}/x.git", "a..b"),
        ("git", "http://127.0.0.1:{port}/a%0a.git", "main"),
        ("bzr", "bzr://127.0.0.1:{port}/trunk", ""),
        ("bzr", "http://127.0.0.1:{port}/trunk", "../../etc"),
    ],
)
def test_a_refused_source_makes_no_connection_at_all(counting_listener, vcs, url, branch):
    source = SourceRef(vcs, url.format(port=counting_listener.port), branch)
    with pytest.raises(PolicyError):
        read(source, timeout=2, allowed_schemes=("http",))
    time.sleep(0.2)  # a connection would have been accepted by now
    assert counting_listener.connections == 0


def test_the_connection_counter_does_count_an_allowed_source(counting_listener):
    source = SourceRef("git", f"git://127.0.0.1:{counting_listener.port}/x.git", "main")
    with pytest.raises(ReadError):
        read(source, timeout=0.5, allowed_schemes=("git",))
    assert counting_listener.connections == 1
