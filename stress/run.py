"""One chaos run, phase by phase: set up, baseline, churn under faults, settle, measure.

Everything started here is registered on the caller's ExitStack, so it is torn
down in reverse order whatever fails.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from stress import invariants, leaks
from stress.churn import Churn
from stress.faults import CountedFaults
from stress.services import Worker, kill_mid_task, start_beat, stop_process, wait_until
from stress.world import make_world

WORKERS = 3
# Seconds spent looking for a busy worker at each churn step from the kill point on,
# and once more after the churn if none was caught: the kill must land mid-task.
KILL_LOOK = 1.0
KILL_PATIENCE = 90.0


class ChaosRun:
    """The run's services, world and figures."""

    def __init__(self, plan: dict, tmp: Path, env: dict, redis_server, stack) -> None:
        self.plan, self.tmp, self.redis, self.stack = plan, tmp, redis_server, stack
        self.env = dict(os.environ, **env)
        self.rng = random.Random(plan["seed"])
        self.faults = CountedFaults(seed=plan["seed"], hang_seconds=3.0)
        self.events: dict = {"worker_kills": [], "redis_restarts": 0}
        self.workers: list[Worker] = []
        self.secrets = {"notification": secrets.token_urlsafe(24), "api": secrets.token_urlsafe(24)}
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self.drained = False

    def execute(self) -> dict:
        self.setup()
        self._phase("baseline", self.wait_for_baseline)
        self._phase("churn", self.churn)
        self._phase("settle", self.settle)
        self._phase("quiesce", self.quiesce)
        return self.report()

    def _phase(self, name: str, action) -> None:
        began = time.monotonic()
        action()
        self.timings[name] = round(time.monotonic() - began, 1)

    def setup(self) -> None:
        from capomastro_changes.site.services import serve_in_thread
        from capomastro_changes.testing.jenkins import JenkinsStandIn

        call_command("migrate", interactive=False, verbosity=0)
        fast_schedules()
        jenkins = JenkinsStandIn(
            quiet_period=2.0, executors=8, faults=self.faults, username="chaos",
            password=self.secrets["api"], root=self.tmp / "jenkins",
        )  # fmt: skip
        self.jenkins = jenkins.start()
        self.stack.callback(jenkins.stop)
        web = serve_in_thread("127.0.0.1", int(os.environ["STRESS_WEB_PORT"]))
        self.stack.callback(web.shutdown)
        secret = self.secrets["notification"]
        self.world = make_world(self.tmp / "repos", jenkins, self.plan["sources"], self.rng, secret)
        self.churn_ = Churn(self.world.handles, self.rng, self.tmp / "side")
        (self.tmp / "side").mkdir(exist_ok=True)
        for n in range(WORKERS):
            self.start_worker(f"worker{n + 1}")
        beat = start_beat(self.env, self.tmp / "beat.log")
        self.stack.callback(stop_process, beat)
        self.beat = beat

    def start_worker(self, name: str) -> Worker:
        worker = Worker(name, self.env, self.tmp).start()
        self.stack.callback(worker.stop)
        self.workers.append(worker)
        return worker

    def wait_for_baseline(self) -> None:
        from capomastro_changes.models import SourceState

        count = len(self.world.handles)
        wait_until(
            lambda: SourceState.objects.exclude(last_revision="").count() >= count,
            120, "not every source got its baseline check", step=0.5,
        )  # fmt: skip

    def churn(self) -> None:
        self.faults.timeout_rate = FAULTS_TIMEOUT
        self.faults.update(error_rate=0.10, drop_notifications=0.10)
        steps = self.plan["commits"]
        kill_at, restart_at = steps // 3, (2 * steps) // 3

        def between(i: int) -> None:
            if i >= kill_at and not killed_mid_task(self.events):
                self.kill_a_worker(KILL_LOOK)
            if i == restart_at:
                self.redis.restart(downtime=1.0)
                self.events["redis_restarts"] += 1

        self.churn_.run(steps, self.plan["churn_seconds"], between)
        if not killed_mid_task(self.events):
            self.kill_a_worker(KILL_PATIENCE)  # beat's sweeps keep the workers fed meanwhile
        self.churn_.finish()
        self.faults.calm()

    def kill_a_worker(self, wait: float) -> None:
        """SIGKILL a worker caught with a task in hand, and start a new one in its place."""
        killed = kill_mid_task(self.workers, wait)
        if killed is None:
            return
        self.workers = [w for w in self.workers if w.name != killed["worker"]]
        self.events["worker_kills"].append(killed)
        self.start_worker(f"worker{len(self.events['worker_kills']) + WORKERS}")

    def settle(self) -> None:
        """Wait until every dependency is built at its source's tip (or stuck, and shown so),
        every final revision built or explained, nothing in flight."""
        deadline = time.monotonic() + self.plan["settle_seconds"]
        while time.monotonic() < deadline:
            if self.settled():
                return
            time.sleep(1.0)

    def settled(self) -> bool:
        from capomastro_changes.models import RebuildRequest

        if RebuildRequest.objects.active().exists():
            return False
        log = self.jenkins.build_log()
        if any(r.finished_at is None for r in log):
            return False
        handles = self.world.handles
        return not (invariants.lost_revisions(handles, log)
                    or invariants.silent_laggards(handles, log))  # fmt: skip

    def quiesce(self) -> None:
        """Stop beat, let the broker queue drain, so no check or build is left mid-way.

        Bounded: a task lost in the Redis restart never reports, so the queue and
        a quiet moment are the measure, not the workers' logs.
        """
        import redis

        stop_process(self.beat)
        client = redis.Redis.from_url(self.redis.url, socket_timeout=5)
        queue = self.env["CAPOMASTRO_CHANGES_QUEUE"]
        deadline = time.monotonic() + 30
        while client.llen(queue) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.drained = not client.llen(queue)
        client.close()
        time.sleep(3.0)  # the tasks taken last finish (a check or a dispatch: milliseconds)

    def report(self) -> dict:
        log = self.jenkins.build_log()
        violations = invariants.measure(self.world.handles, log)
        counts = {name: len(found) for name, found in violations.items()}
        faults = self.faults.counts()
        leaked = leaks.scan(self.tmp, list(self.secrets.values()))
        missing_faults = [k for k in REQUIRED_FAULTS if not faults.get(k)]
        injected = killed_mid_task(self.events) and self.events["redis_restarts"] > 0
        return {
            "ok": not any(counts.values()) and not missing_faults and injected and not leaked,
            "drained": self.drained,
            "mode": "quick" if self.plan["commits"] < 300 else "full",
            "seed": self.plan["seed"],
            "database": database_name(),
            "invariants": counts,
            "violations": {k: v[:20] for k, v in violations.items() if v},
            "faults": faults | {"worker_sigkills": len(self.events["worker_kills"]),
                                "redis_restarts": self.events["redis_restarts"]},
            "worker_kills": self.events["worker_kills"],
            "killed_mid_task": killed_mid_task(self.events),
            "changes": dict(self.churn_.counts),
            "secrets_leaked": leaked,
            "seconds": self.timings | {"total": round(time.monotonic() - self.started, 1)},
            **invariants.figures(log),
        }  # fmt: skip


def killed_mid_task(events: dict) -> bool:
    """True once a worker was SIGKILLed with a task in hand (not merely some worker)."""
    return any(kill["tasks_in_hand"] > 0 for kill in events["worker_kills"])


FAULTS_TIMEOUT = 0.05
REQUIRED_FAULTS = ("http_500", "timeouts", "notifications_dropped")


def fast_schedules() -> None:
    """The sweep every second and the reaper every two (the migration's are minutes)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for task, seconds in (("capomastro_changes.sweep", 1), ("capomastro_changes.reap", 2)):
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        for row in PeriodicTask.objects.filter(task=task):
            row.interval, row.expire_seconds = every, 10
            row.save()


def database_name() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("sqlite3"):
        return "SQLite (DATABASE_URL not set)"
    return f"PostgreSQL (scratch database {settings.DATABASES['default']['NAME']})"
