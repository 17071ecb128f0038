"""The chaos run's worker kill lands mid-task: a worker is SIGKILLed only when caught with a
task in hand, and a run in which that never happened is not a passing run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stress.run import killed_mid_task
from stress.services import Worker, kill_mid_task

RECEIVED = "[2026-01-01 00:00:00,000: INFO/MainProcess] Task capomastro_changes.{}[{}] received\n"
DONE = "[2026-01-01 00:00:00,100: INFO/ForkPoolWorker-1] Task capomastro_changes.{}[{}] succeeded in 0.01s: None\n"  # noqa: E501


@pytest.fixture
def workers(tmp_path):
    """Two worker processes (real, sleeping), each with the log a Celery worker writes."""
    made = []
    for name in ("idle", "busy"):
        worker = Worker(name, {}, tmp_path)
        worker.proc = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
        )
        made.append(worker)
    idle, busy = made
    idle.log.write_text(RECEIVED.format("check_source", "a") + DONE.format("check_source", "a"))
    busy.log.write_text(
        RECEIVED.format("check_source", "b") + DONE.format("check_source", "b")
        + RECEIVED.format("trigger_request", "c")
    )  # fmt: skip
    yield idle, busy
    for worker in made:
        worker.kill()


def test_only_a_worker_with_a_task_in_hand_is_killed(workers):
    idle, busy = workers
    assert kill_mid_task([idle, busy], wait=0.5) == {"worker": "busy", "tasks_in_hand": 1}
    assert not busy.alive() and idle.alive()


def test_when_no_worker_is_busy_nobody_is_killed_and_the_run_does_not_pass(workers):
    idle, _ = workers
    assert kill_mid_task([idle], wait=0.3) is None
    assert idle.alive()
    assert not killed_mid_task({"worker_kills": []})
    assert not killed_mid_task({"worker_kills": [{"worker": "idle", "tasks_in_hand": 0}]})
    assert killed_mid_task({"worker_kills": [{"worker": "busy", "tasks_in_hand": 1}]})


def test_an_idle_worker_is_caught_once_it_has_picked_a_task_up(workers):
    idle, _ = workers
    with idle.log.open("a") as log:
        log.write(RECEIVED.format("dispatch_request", "d"))
    assert kill_mid_task([idle], wait=0.3) == {"worker": "idle", "tasks_in_hand": 1}
    assert not idle.alive()
