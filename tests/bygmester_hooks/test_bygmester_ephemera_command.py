"""``bygmester-ephemera`` from a shell: each set of a sets file on its own, one line each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bygmester_hooks.ephemera.packing import pack
from bygmester_hooks.ephemera.paths import PathRefused

COMMAND = Path(sys.executable).with_name("bygmester-ephemera")


def run(workspace: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "WORKSPACE": str(workspace),
        "EPHEMERA_TOKEN": "t" * 43,
        "EPHEMERA_URL": "http://127.0.0.1:9/changes/ephemera/",
        "BYGMESTER_REVISION": "r",
    }
    return subprocess.run([str(COMMAND), *argv], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


@pytest.fixture
def workspace(tmp_path) -> Path:
    (tmp_path / "bygmester").mkdir()
    (tmp_path / "cargo").mkdir()
    (tmp_path / "cargo" / "crate").write_text("c")
    sets = "ccache .ccache --key-file ccache.conf\ncargo cargo\n"
    (tmp_path / "bygmester" / "ephemera").write_text(sets)
    return tmp_path


def test_a_set_that_cannot_be_persisted_stops_no_other(workspace):
    done = run(workspace, "persist", "--from", "bygmester/ephemera")
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 2, done.stderr
    assert lines[0].startswith("bygmester-ephemera: ccache not stored: cannot read key file")
    assert lines[1].startswith("bygmester-ephemera: cargo not stored: cannot reach")


def test_a_set_that_cannot_be_restored_stops_no_other_and_fails_no_build(workspace):
    done = run(workspace, "restore", "--from", "bygmester/ephemera")
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and len(lines) == 2, done.stderr
    assert "ccache not restored: cannot read key file ccache.conf" in lines[0]
    assert "cargo not restored: cannot reach" in lines[1] and "building from pristine" in lines[1]
    assert "t" * 43 not in done.stderr + done.stdout


def test_persist_never_follows_a_linked_directory_out_of_the_workspace(tmp_path):
    outside = tmp_path / "host"
    (outside / "registry").mkdir(parents=True)
    (outside / "registry" / "id_rsa").write_text("HOST KEY")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "cargo-home").symlink_to(outside)
    with pytest.raises(PathRefused, match="leads out of the workspace"):
        pack(workspace, ["cargo-home/registry"], tmp_path / "a.tar.gz", 1 << 20)


def test_the_token_never_follows_a_redirect(tmp_path):
    import http.server
    import threading

    seen = []

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/steal")
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        from bygmester_hooks.ephemera.transfer import Server, TransferError

        with pytest.raises(TransferError, match="a redirect to http://127.0.0.1:.*/steal; not"):
            Server(f"http://127.0.0.1:{server.server_port}/e/", "t" * 43).find("a", "b" * 64, False)
        server.shutdown()
    assert seen == ["Bearer " + "t" * 43]  # asked once, never again at the redirect's target


def test_a_destination_that_a_link_turns_into_the_bygmester_branch_is_refused(tmp_path):
    from bygmester_hooks.ephemera.restoring import check_destination
    from bygmester_hooks.ephemera.unpacking import Refused

    (tmp_path / "bygmester").mkdir()
    (tmp_path / "out").symlink_to("bygmester")
    with pytest.raises(Refused, match="its directory leads to bygmester/build"):
        check_destination(tmp_path, "out/build")
    with pytest.raises(PathRefused, match="bygmester is not the builds' to keep"):
        pack(tmp_path, ["out"], tmp_path.parent / "x.tar.gz", 1 << 20)


def test_a_restore_that_fails_half_way_puts_everything_back(tmp_path):
    from bygmester_hooks.ephemera.restoring import place

    workspace, staging = tmp_path / "ws", tmp_path / "ws" / ".ephemera-restore-t"
    (workspace / "a").mkdir(parents=True)
    (workspace / "a" / "old").write_text("pristine")
    (workspace / "f").write_text("a file where the second path wants a directory")
    (staging / "a").mkdir(parents=True)
    (staging / "a" / "new").write_text("from the archive")
    (staging / "f" / "b").mkdir(parents=True)
    with pytest.raises(OSError):
        place(workspace, staging, ["a", "f/b"])
    assert sorted(p.name for p in (workspace / "a").iterdir()) == ["old"]
    assert (workspace / "f").read_text().startswith("a file")
