"""``run`` serves as in production: gunicorn (not Django's development server), static
files served, request lines logged without the notification secret, and a worker, a
beat and the web server it watches: one stopping stops all, said in one line."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cli.test_commands_attach_never_own import Running
from tests.cli.test_run_command import free_port, processes_mentioning

pytestmark = pytest.mark.slow
SECRET = "notification-secret-in-a-request-line-5d1e"


def get(url: str, data: bytes | None = None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_run_serves_through_gunicorn_with_static_files_and_redacted_request_lines(tmp_path):
    port = free_port()
    running = Running(tmp_path, tmp_path / "data", port)
    try:
        running.wait_for("log in as")
        running.wait_for("Booting worker")  # gunicorn's own line
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        status, headers, _ = 0, {}, b""
        while status != 200 and time.monotonic() < deadline:
            try:
                status, headers, _ = get(f"{base}/admin/login/")
            except OSError:
                time.sleep(0.2)
        assert status == 200 and "gunicorn" in headers.get("Server", "")
        css_status, css_headers, css = get(f"{base}/static/admin/css/base.css")
        assert (
            css_status == 200 and b"{" in css and "max-age" in css_headers.get("Cache-Control", "")
        )
        notified, _, _ = get(f"{base}/changes/jenkins/1/notifications/?secret={SECRET}", b"{}")
        assert notified == 403
        running.wait_for("/changes/jenkins/1/notifications/?secret=***")
        assert SECRET not in "".join(running.seen)
        assert "development server" not in "".join(running.seen)
    finally:
        running.stop()
    assert running.proc.returncode == 0


def test_when_the_worker_dies_run_stops_everything_and_says_so(tmp_path):
    data_dir = tmp_path / "data"
    running = Running(tmp_path, data_dir, free_port())
    try:
        running.wait_for(" ready.")
        running.wait_for("Booting worker")
        workers = [
            p
            for p in processes_mentioning("capomastro_changes.site.celery\x00worker")
            if p in _children(running.proc.pid)
        ]
        assert workers, "no worker process"
        os.kill(workers[0], signal.SIGKILL)
        running.proc.wait(timeout=60)
        running.wait_for("the worker stopped", seconds=10)
    finally:
        running.stop()
    assert running.proc.returncode == 1
    assert not processes_mentioning(str(data_dir / "beat-schedule"))
    assert not [p for p in processes_mentioning("gunicorn") if p in _children(running.proc.pid)]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found
