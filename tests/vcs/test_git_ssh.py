"""git over ssh, read for real through a stand-in ``ssh`` on PATH.

The stand-in does what ssh and the remote login shell would: it records the
argv it was started with, applies ``-o SetEnv=...``, splits the one remote
command string as a shell would, and runs ``git upload-pack`` on the path
(an argv list, no shell). So the test sees exactly what the reader gives
ssh, and the read itself is real: a real upload-pack speaking protocol v2.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

import pytest

from capomastro_changes.testing import repos
from capomastro_changes.vcs.errors import MissingError, ReadError
from capomastro_changes.vcs.git import read_head

FAKE_SSH = """#!{python}
import json, os, shlex, sys
args = sys.argv[1:]
parent = os.readlink(f"/proc/{{os.getppid()}}/exe")
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "parent": parent}}) + "\\n")
if os.environ.get("FAKE_SSH_REFUSE"):
    sys.exit(print("ssh: connect to host h port 22: Connection refused", file=sys.stderr) or 255)
options, (host, command) = args[: args.index("--")], args[args.index("--") + 1 :]
env = {{k: v for k, v in os.environ.items() if k != "GIT_PROTOCOL"}}
for flag, value in zip(options, options[1:]):
    if flag == "-o" and value.startswith("SetEnv="):
        name, _, setting = value[len("SetEnv="):].partition("=")
        env[name] = setting
words = shlex.split(command)  # what the remote login shell makes of the one string
if len(words) != 2 or words[0] != "git-upload-pack":
    sys.exit(print(f"unexpected remote command {{command!r}}", file=sys.stderr) or 127)
os.execvpe("git", ["git", "upload-pack", words[1]], env)
"""


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    """Put the stand-in ``ssh`` first on PATH; yields a function reading what it recorded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH.format(python=sys.executable))
    (bin_dir / "ssh").chmod(0o755)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


def read(url, branch="main", **kwargs):
    return read_head(url, branch, allowed_schemes=("ssh",), timeout=10, **kwargs)


def test_a_branch_is_read_over_ssh_from_an_argv_list(tmp_path, fake_ssh):
    base = tmp_path / "it's;$(id)"  # what the remote shell must take literally
    base.mkdir()
    repo = repos.make_git(base)
    url = f"ssh://git@127.0.0.1:2222{repo.bare}"

    assert read(url).revision.id == repo.rev_parse("main")

    [call] = fake_ssh()
    assert call["parent"] == os.path.realpath(sys.executable)  # started directly, no sh -c
    options, rest = call["argv"][: call["argv"].index("--")], call["argv"][-3:]
    connect_timeout = options[5]
    assert connect_timeout in ("ConnectTimeout=9", "ConnectTimeout=10")  # the read's time left
    assert options == [
        "-x", "-T", "-o", "BatchMode=yes", "-o", connect_timeout,
        "-p", "2222", "-l", "git", "-o", "SetEnv=GIT_PROTOCOL=version=2",
    ]  # fmt: skip
    assert rest[:2] == ["--", "127.0.0.1"]
    assert shlex.split(rest[2]) == ["git-upload-pack", str(repo.bare)]


def test_protocol_v2_asks_only_for_the_branch_among_ten_thousand_refs(tmp_path, fake_ssh):
    repo = repos.make_git(tmp_path)
    head = repo.rev_parse("main")
    lines = [f"{head} refs/heads/feature-{n:05d}" for n in range(10_000)]
    (repo.bare / "packed-refs").write_text("\n".join(lines) + "\n")
    url = f"ssh://127.0.0.1{repo.bare}"
    # The whole advertisement is ~600 kB: only a v2 ref-prefix request fits in 4 kB.
    assert read(url, "feature-09999", max_bytes=4096).revision.id == head


def test_a_repository_gone_over_ssh_is_missing(tmp_path, fake_ssh):
    with pytest.raises(MissingError):
        read(f"ssh://127.0.0.1{tmp_path}/nowhere.git")


def test_an_ssh_that_cannot_connect_is_an_error(tmp_path, fake_ssh, monkeypatch):
    monkeypatch.setenv("FAKE_SSH_REFUSE", "1")
    with pytest.raises(ReadError, match="connection refused") as caught:
        read(f"ssh://alice:s3cret@127.0.0.1{tmp_path}/x.git")
    assert not isinstance(caught.value, MissingError) and "s3cret" not in str(caught.value)
    assert all("s3cret" not in word for word in fake_ssh()[0]["argv"])
