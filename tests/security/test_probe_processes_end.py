"""A script probe's answer is read when the script exits, and every process it started
ends with the check, even one that left its session with ``setsid`` or was adopted by
init: a child left holding stdout used to turn a good answer into "no answer within N s",
and a ``setsid`` child outlived the check."""

from __future__ import annotations

import os
import time
from pathlib import Path

from capomastro_changes.probes.script import run_script
from capomastro_changes.revisions import Revision, SourceRef

SOURCE = SourceRef("git", "https://example.com/x.git", "main")
ANSWER = 'echo \'{"revision": "abc"}\''


def shell_script(branch: Path, body: str) -> str:
    path = branch / "probe"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return "probe"


def run(branch: Path, timeout: float = 10.0):
    return run_script(branch, "probe", SOURCE, timeout=timeout, max_output=4096)


def alive(pid: int) -> bool:
    """Running, or stopped: anything but gone or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != b"Z"


def gone_soon(pid: int, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


def pids_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def test_an_answer_is_read_when_the_script_exits_though_a_child_holds_stdout(tmp_path):
    pidfile = tmp_path / "pids"
    shell_script(tmp_path, f"{ANSWER}\nsleep 300 &\necho $! > {pidfile}\nexit 0")
    started = time.monotonic()
    answer = run(tmp_path, timeout=20)
    took = time.monotonic() - started
    assert (answer.ok, answer.revision) == (True, Revision("abc")), answer.error
    assert took < 3, f"waited {took:.1f} s for a child holding stdout"
    assert all(gone_soon(pid) for pid in pids_in(pidfile))


def test_a_child_that_left_the_session_ends_with_the_check(tmp_path):
    pidfile = tmp_path / "pids"
    body = (
        f"setsid sh -c 'echo $$ >> {pidfile}; exec sleep 300' </dev/null >/dev/null 2>&1 &\n"
        f"( setsid sh -c 'sleep 300 & echo $! >> {pidfile}' & )\n"  # adopted by init, or by us
        f"while [ $(wc -l < {pidfile} 2>/dev/null || echo 0) -lt 2 ]; do sleep 0.01; done\n"
        f"{ANSWER}"
    )
    shell_script(tmp_path, body)
    answer = run(tmp_path)
    assert answer.ok, answer.error
    pids = pids_in(pidfile)
    assert len(pids) == 2
    assert [pid for pid in pids if not gone_soon(pid)] == []


def test_at_the_deadline_the_script_and_all_it_started_are_ended(tmp_path):
    pidfile = tmp_path / "pids"
    body = (
        f"setsid sh -c 'echo $$ >> {pidfile}; exec sleep 300' </dev/null >/dev/null 2>&1 &\n"
        f"echo $$ >> {pidfile}\nsleep 300"
    )
    shell_script(tmp_path, body)
    started = time.monotonic()
    answer = run(tmp_path, timeout=1.0)
    assert not answer.ok and "no answer within 1 seconds" in answer.error
    assert time.monotonic() - started < 6
    pids = pids_in(pidfile)
    assert len(pids) == 2 and [pid for pid in pids if not gone_soon(pid)] == []


def test_the_worker_adopts_nothing(tmp_path):
    """The subreaper is a process of its own: the worker gets no orphans to reap."""
    shell_script(tmp_path, f"( sleep 300 & )\n{ANSWER}")
    before = set(os.listdir("/proc"))
    assert run(tmp_path).ok
    ours = [p for p in set(os.listdir("/proc")) - before if p.isdigit()
            and Path(f"/proc/{p}/stat").exists()
            and int(Path(f"/proc/{p}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            == os.getpid()]  # fmt: skip
    assert ours == []
