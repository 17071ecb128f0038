"""``python -m capomastro_changes.testing.jenkins`` serves until told to stop."""

from __future__ import annotations

import signal
import subprocess
import sys

import requests


def test_the_command_line_prints_its_url_first_and_serves_with_auth(tmp_path):
    argv = [
        sys.executable,
        "-m",
        "capomastro_changes.testing.jenkins",
        "--port",
        "0",
        "--user",
        "ops",
        "--password",
        "pw",
        "--quiet-period",
        "0",
        "--root",
        str(tmp_path),
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            first = proc.stdout.readline()
            assert first.startswith("listening on http://127.0.0.1:") and first.endswith("/\n")
            url = first.split()[-1]
            with requests.get(url + "me/api/json", auth=("ops", "pw"), timeout=5) as me:
                assert me.json()["id"] == "ops"
                assert me.headers["X-Jenkins"]
            with requests.get(url + "me/api/json", auth=("ops", "no"), timeout=5) as refused:
                assert refused.status_code == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    assert proc.returncode == 0


def test_the_command_line_refuses_a_user_without_a_password():
    argv = [sys.executable, "-m", "capomastro_changes.testing.jenkins", "--user", "ops"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--user and --password go together" in done.stderr
