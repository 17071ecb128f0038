"""``capomastro-changes run`` comes up on a machine with nothing configured."""

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_run(tmp_path, port: int, *flags: str) -> subprocess.Popen:
    """``capomastro-changes run`` in ``tmp_path`` as on a fresh machine: nothing configured."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = Path(sys.executable).parent / "capomastro-changes"
    return subprocess.Popen(
        [str(command), "run", "--port", str(port), *flags],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_run_migrates_serves_the_admin_and_says_how_to_log_in(tmp_path):
    port = free_port()
    proc = start_run(tmp_path, port, "--no-worker")
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "log in as" in line or not line:
                break
        output = "".join(lines)
        assert f"admin at http://127.0.0.1:{port}/admin/" in output, output
        assert "database: sqlite3" in output and "redis: embedded" in output
        password_file = tmp_path / ".capomastro-changes" / "admin-password"
        assert str(password_file) in output
        assert password_file.read_text().strip() not in output
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                url = f"http://127.0.0.1:{port}/admin/login/"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    status = answer.status
            except OSError:
                time.sleep(0.2)
        assert status == 200
        assert (tmp_path / ".capomastro-changes" / "db.sqlite3").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stdout.close()


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_run_starts_a_worker_with_beat_and_stops_them_on_the_way_out(tmp_path):
    port = free_port()
    proc = start_run(tmp_path, port)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    seen, wanted = [], ("admin at http://", " ready.", "beat: Starting")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(w in "".join(seen) for w in wanted):
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, "".join(seen)
        output = "".join(seen)
        for text in wanted:
            assert text in output, output
        schedule = str(tmp_path / ".capomastro-changes" / "beat-schedule")
        assert processes_mentioning(schedule), "no worker with beat is running"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        proc.stdout.close()
    stopped_by = time.monotonic() + 10
    while processes_mentioning(schedule) and time.monotonic() < stopped_by:
        time.sleep(0.2)
    assert not processes_mentioning(schedule), "the worker outlived `run`"
