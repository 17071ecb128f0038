"""Commands that look (``status``, ``check``) attach to a running instance and never stop
what they did not start; a command that cannot do its job says so in one line and
leaves nothing behind: no process, no empty database, nothing wiped."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.cli.test_run_command import free_port, processes_mentioning

COMMAND = Path(sys.executable).parent / "capomastro-changes"


def fresh_env() -> dict[str, str]:
    drop = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CAPOMASTRO_CHANGES_DATA_DIR")
    return {k: v for k, v in os.environ.items() if k not in drop}


def command(*argv: str, cwd: Path, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COMMAND), *argv], cwd=cwd, env={**fresh_env(), **env}, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


class Running:
    """``capomastro-changes run`` in its own process, its output read line by line."""

    def __init__(self, cwd: Path, data_dir: Path, port: int, **env):
        self.proc = subprocess.Popen(
            [str(COMMAND), "run", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=cwd, env={**fresh_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,  # a terminal of its own: Ctrl-C is its alone
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(
            target=lambda: [self.lines.put(x) for x in self.proc.stdout], daemon=True
        )
        self.reader.start()

    def wait_for(self, text: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in "".join(self.seen):
                return
            try:
                self.seen.append(self.lines.get(timeout=1))
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.seen)
        pytest.fail(f"never saw {text!r}:\n{''.join(self.seen)[-3000:]}")

    def wait_until_serving(self) -> None:
        """Until the web server is up and beat has started: the whole instance runs."""
        self.wait_for(" ready.")
        self.wait_for("beat: Starting")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.finish()

    def finish(self) -> None:
        """Read to the end (every process that held the output has closed it), then close."""
        self.reader.join(timeout=60)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        self.proc.stdout.close()


def embedded_redis(data_dir: Path) -> redis.Redis:
    settings = json.loads((data_dir / "redis.db.settings").read_text())
    return redis.Redis(unix_socket_path=settings["unixsocket"], socket_timeout=5)


@pytest.mark.slow
def test_status_and_check_beside_a_running_instance_leave_it_running(tmp_path):
    data_dir = tmp_path / "data"
    running = Running(tmp_path, data_dir, free_port())
    try:
        running.wait_until_serving()
        password = (data_dir / "admin-password").read_text()
        for argv in (("demo", "--no-serve", "--port", "0"), ("run", "--port", str(free_port()))):
            refused = command(*argv, "--data-dir", str(data_dir), cwd=tmp_path, timeout=60)
            assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused
            assert f"{data_dir} is in use (a run or demo holds" in refused.stderr
        assert (data_dir / "admin-password").read_text() == password  # nothing was wiped
        for argv in (("status",), ("check", "--all")):
            done = command(*argv, "--data-dir", str(data_dir), cwd=tmp_path)
            assert done.returncode in (0, 2), done.stderr  # 2: nothing to check yet
        time.sleep(1)  # what used to follow: "consumer: Connection to broker lost"
        assert embedded_redis(data_dir).ping()
        assert "Connection to broker lost" not in "".join(running.seen)
        assert processes_mentioning(str(data_dir / "beat-schedule")), "the worker died"
        # The worker still consumes: a sweep sent now is taken and run.
        from celery import Celery

        url = json.loads((data_dir / "redis.db.settings").read_text())["unixsocket"]
        sender = Celery(broker=f"redis+socket://{url}")
        sender.send_task("capomastro_changes.sweep", queue="capomastro-changes")
        running.wait_for("capomastro_changes.sweep[", seconds=30)
        running.wait_for("succeeded", seconds=30)
    finally:
        running.stop()


def test_run_on_a_busy_port_is_one_line_and_leaves_nothing_behind(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = command("run", "--port", str(port), "--data-dir", str(tmp_path / "d"),
                       cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert (
        f"cannot serve on 127.0.0.1:{port}" in done.stderr and "nothing was started" in done.stderr
    )
    assert "admin at" not in done.stdout
    assert not (tmp_path / "d").exists()
    assert not processes_mentioning(str(tmp_path / "d"))


def test_the_demo_on_a_busy_port_wipes_nothing(tmp_path):
    kept = tmp_path / ".capomastro-changes" / "demo" / "kept"
    kept.parent.mkdir(parents=True)
    kept.write_text("the previous demo's data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = command("demo", "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert done.returncode == 1 and "nothing was started" in done.stderr
    assert "Traceback" not in done.stderr
    assert kept.read_text() == "the previous demo's data"


@pytest.mark.parametrize("name", ["status", "check"])
def test_a_data_dir_without_a_database_is_one_line_and_creates_nothing(tmp_path, name):
    empty = tmp_path / "nothing-here"
    done = command(name, "--data-dir", str(empty), cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"capomastro-changes {name}: no database in {empty}; start an instance there first "
        f"('capomastro-changes run --data-dir {empty}'), or point --data-dir at one"
    )
    assert not empty.exists() and not (tmp_path / ".capomastro-changes").exists()


def test_the_data_dir_option_is_documented_with_its_variable():
    for name in ("status", "check"):
        done = subprocess.run([str(COMMAND), name, "--help"], capture_output=True, text=True)
        assert "--data-dir" in done.stdout and "$CAPOMASTRO_CHANGES_DATA_DIR" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("REDIS_URL", "localhost:6379", "is not a Redis URL"),
        ("DATABASE_URL", "bogus://admin:s3cr3t-pw@db/x", "is not a database URL"),
    ],
)
def test_a_malformed_url_is_one_line_without_its_password(tmp_path, variable, value, said):
    for name in ("run", "status"):
        done = (
            command(name, "--port", "0", cwd=tmp_path, **{variable: value})
            if name == "run"
            else command(name, cwd=tmp_path, **{variable: value})
        )
        assert done.returncode == 2, done.stderr
        assert said in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
        assert "s3cr3t-pw" not in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_database_or_redis_is_one_line_and_starts_nothing(tmp_path):
    down = command("status", cwd=tmp_path, DATABASE_URL="postgres://u:s3cr3t-pw@127.0.0.1:1/x")
    assert down.returncode == 1 and "the database did not answer" in down.stderr
    assert "Traceback" not in down.stderr and "s3cr3t-pw" not in down.stderr
    data_dir = tmp_path / "d"
    done = command("run", "--port", "0", "--data-dir", str(data_dir), cwd=tmp_path,
                   REDIS_URL="redis://127.0.0.1:1/0")  # fmt: skip
    assert done.returncode == 1 and "Redis did not answer" in done.stderr
    assert "nothing was started" in done.stderr and "Traceback" not in done.stderr
    assert not processes_mentioning(str(data_dir))


def test_the_demo_never_wipes_a_directory_it_did_not_make(tmp_path):
    kept = tmp_path / "production"
    kept.mkdir()
    (kept / "db.sqlite3").write_text("an instance's records")
    done = command("demo", "--no-serve", "--port", "0", "--data-dir", str(kept), cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done
    assert "holds data the demo did not make" in done.stderr
    assert sorted(p.name for p in kept.iterdir()) == ["db.sqlite3"]
    assert (kept / "db.sqlite3").read_text() == "an instance's records"


@pytest.mark.parametrize("port", ["99999", "-5", "eighty"])
def test_a_port_out_of_range_is_one_line(tmp_path, port):
    done = command("run", "--port", port, "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert done.returncode == 2 and "is not a port (0 to 65535)" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "d").exists()


def test_a_redis_url_whose_port_is_not_a_number_is_one_line_without_its_password(tmp_path):
    url = "redis://bob:Sup3rS3cretPW@127.0.0.1:notaport/0"
    done = command("status", "--data-dir", str(tmp_path), cwd=tmp_path, REDIS_URL=url)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done
    assert "has a port that is not a number" in done.stderr
    assert "Sup3rS3cretPW" not in done.stderr + done.stdout


def test_an_empty_database_file_is_no_database_and_status_writes_nothing(tmp_path):
    (tmp_path / "db.sqlite3").touch()
    done = command("status", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and "no database in" in done.stderr, done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.sqlite3"]
    assert (tmp_path / "db.sqlite3").stat().st_size == 0


def gone_within(seconds: float, *texts: str) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(processes_mentioning(t) for t in texts):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_ctrl_c_stops_run_and_everything_it_started_with_status_0(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    running = Running(tmp_path, data_dir, port)
    running.wait_until_serving()
    os.killpg(running.proc.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
    assert running.proc.wait(timeout=60) == 0
    running.finish()
    said = "".join(running.seen)
    assert "stopping the rest" not in said, said
    assert gone_within(20, str(data_dir / "beat-schedule"), f"127.0.0.1:{port}")
    # status on the stopped instance's data only looks: it starts no Redis there.
    done = command("status", "--data-dir", str(data_dir), cwd=tmp_path)
    assert done.returncode == 0 and "build locks not read: no instance is running" in done.stdout
    from capomastro_changes.site.data_dir import in_use

    assert in_use(data_dir) == ""


@pytest.mark.slow
def test_run_killed_with_sigkill_takes_its_processes_along_and_leaves_no_redis_for_good(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    running = Running(tmp_path, data_dir, port)
    running.wait_until_serving()
    running.proc.kill()
    running.proc.wait(timeout=30)
    # The worker, beat and web server end with it (the kernel tells them)...
    assert gone_within(30, str(data_dir / "beat-schedule"), f"127.0.0.1:{port}")
    running.finish()
    # ...and its embedded Redis, left running, is taken over and stopped by the next
    # command on that directory, since its owner is dead.
    assert embedded_redis(data_dir).ping()
    done = command("status", "--data-dir", str(data_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with pytest.raises(redis.ConnectionError):
        embedded_redis(data_dir).ping()


def test_an_ipv6_host_is_probed_as_ipv6():
    from argparse import Namespace

    from capomastro_changes.cli.main import busy_port

    try:
        taken = socket.socket(socket.AF_INET6)
        taken.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with taken:
        taken.listen()
        port = taken.getsockname()[1]
        said = busy_port(Namespace(command="run", host="::1", port=port))
        assert said.startswith(f"cannot serve on ::1:{port} (") and "in use" in said
    assert busy_port(Namespace(command="run", host="::1", port=port)) == ""


@pytest.mark.slow
def test_a_second_run_on_a_data_dir_is_refused_whatever_redis_they_use(tmp_path, redis_url):
    data_dir = tmp_path / "data"
    first = Running(tmp_path, data_dir, free_port(), REDIS_URL=redis_url)
    try:
        first.wait_for(" ready.")
        metrics = sorted(p.name for p in (data_dir / "metrics").iterdir())
        second = command("run", "--port", str(free_port()), "--data-dir", str(data_dir),
                         cwd=tmp_path, REDIS_URL=redis_url)  # fmt: skip
        assert second.returncode == 2 and len(second.stderr.splitlines()) == 1, second.stderr
        assert "is in use (a run or demo holds" in second.stderr
        assert sorted(p.name for p in (data_dir / "metrics").iterdir()) == metrics
    finally:
        first.stop()
