"""Run a probe script, and end every process it started, even those that left its session.

A process group is not enough: a child that calls ``setsid`` leaves it, and one
that forks twice is adopted by init, so ``killpg`` misses both and they outlive
the check (holding its stdout open, so that it waited for them). This small
parent marks itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``,
Linux 3.4 and later): whatever the script leaves behind is re-parented to it,
not to init, so it can always find it. When the script exits, or when it is
told to stop (SIGTERM, at the deadline), it kills every process below it,
reaps them, and exits as the script did. A cgroup would do the same with more
set-up (a delegated hierarchy per worker); a subreaper needs no privilege.

Run as ``python -m capomastro_changes.probes.subreaper PROGRAM [ARG...]``; it
imports nothing of Django, so it starts in a few milliseconds.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
END_WITHIN = 2.0  # seconds to end and reap everything below us


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants; False where the kernel cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> list[int]:
    """Every process below ``root``, read from /proc (zombies included)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                data = stat.read()
        except OSError:  # gone meanwhile
            continue
        fields = data[data.rfind(b")") + 2 :].split()  # after "pid (comm) "
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, below = [], [root]
    while below:
        for child in children.get(below.pop(), []):
            found.append(child)
            below.append(child)
    return found


def end_all() -> None:
    """Kill everything below this process, and reap it, until nothing is left."""
    deadline = time.monotonic() + END_WITHIN
    while time.monotonic() < deadline:
        left = descendants(os.getpid())
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap()
        time.sleep(0.005)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def exit_like(status: int) -> None:
    """Exit as the script did: its status, or the signal that killed it."""
    if status < 0:
        try:
            signal.signal(-status, signal.SIG_DFL)
        except (OSError, ValueError):  # SIGKILL and SIGSTOP keep their default anyway
            pass
        os.kill(os.getpid(), -status)
    os._exit(status & 0xFF)


def main(argv: list[str]) -> None:
    if not argv:
        print(
            "usage: python -m capomastro_changes.probes.subreaper PROGRAM [ARG...]", file=sys.stderr
        )
        os._exit(64)
    become_subreaper()

    def stop(signum, frame) -> None:  # the deadline: the script and all below it go now
        end_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        script = subprocess.Popen(argv)  # stdin, stdout, stderr: ours, as given by the probe
    except OSError as exc:
        print(f"could not start it ({exc.strerror})", file=sys.stderr)
        os._exit(126)
    status = script.wait()
    end_all()  # whatever it left behind, before our stdout closes
    exit_like(status)


if __name__ == "__main__":  # pragma: no cover (run as a process by the script probe)
    main(sys.argv[1:])
