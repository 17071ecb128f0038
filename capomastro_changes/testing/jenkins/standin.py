"""The Jenkins stand-in as one object: start it, point a client at ``url``, read what it did.

It owns the HTTP server thread, the dispatcher thread that moves due queue
items onto executors, and one thread per running build. Use it as a context
manager in tests::

    with JenkinsStandIn(quiet_period=0) as jenkins:
        client = jenkins_lib.Jenkins(jenkins.url, "admin", "secret")
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from capomastro_changes.testing.jenkins import executor, routes
from capomastro_changes.testing.jenkins.build_queue import LEFT_ITEM_TTL, BuildQueue
from capomastro_changes.testing.jenkins.faults import Faults
from capomastro_changes.testing.jenkins.notifier import Delivery, Notifier
from capomastro_changes.testing.jenkins.server import StandInHTTPServer
from capomastro_changes.testing.jenkins.state import Build, BuildRecord, State
from capomastro_changes.testing.jenkins.view_state import Views


class JenkinsStandIn:
    """A real HTTP server speaking the part of Jenkins' remote API python-jenkins uses.

    Args:
        host, port: where to listen; port 0 picks a free one.
        username, password: when given, every API request needs them (HTTP Basic).
        quiet_period: seconds a new queue item waits (Jenkins' default is 5).
        executors: builds that may run at once on the built-in node.
        left_item_ttl: seconds a queue item that left the queue is still
            answered for (Jenkins: 300); after that it is a 404.
        crumbs: issue crumbs and demand one on every POST (Jenkins' default).
        duplicate_status: answer to an identical trigger still queued: 303
            (Jenkins >= 2.308) or 201 (older Jenkins).
        notification_style: "current" (QUEUED..FINALIZED) or "legacy" (1.5, FINISHED).
        root: directory for workspaces and archives; a temporary one if None.
        faults: the fault knobs; a quiet set if None.
        version: what the ``X-Jenkins`` header says.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
        quiet_period: float = 5.0,
        executors: int = 2,
        left_item_ttl: float = LEFT_ITEM_TTL,
        crumbs: bool = True,
        duplicate_status: int = 303,
        notification_style: str = "current",
        root: str | Path | None = None,
        faults: Faults | None = None,
        version: str = "2.440.3",
    ):
        if duplicate_status not in (201, 303):
            raise ValueError("duplicate_status must be 201 (Jenkins < 2.308) or 303")
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.crumbs, self.duplicate_status, self.version = crumbs, duplicate_status, version
        self.faults = faults or Faults()
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="jenkins-standin-"))
        self.state = State(self.root)
        self.views = Views(self.state.cond)
        self.queue = BuildQueue(
            self.state, executors=executors, quiet_period=quiet_period, left_item_ttl=left_item_ttl
        )
        self.notifier = Notifier("", self.faults, notification_style)
        self.crumb = secrets.token_hex(16)
        self.session = secrets.token_hex(4)
        self.starting_until = 0.0
        self._http: StandInHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._build_threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.access_log: list[str] = []  # "METHOD /path?query", oldest first
        self._access_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8080/`` (still known once stopped)."""
        if not self.port:
            raise RuntimeError("the stand-in was never started")
        return f"http://{self.host}:{self.port}/"

    def start(self) -> JenkinsStandIn:
        """Listen and start serving in background threads."""
        self._http = StandInHTTPServer((self.host, self.port), self)
        self.port = self._http.server_address[1]
        self.notifier.base_url = self.url
        self._stopping.clear()
        for target in (self._serve, self._dispatch):
            thread = threading.Thread(target=target, name=f"jenkins-standin{target.__name__}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving, end running builds (without notifications), drop temporary files."""
        if self._http is None:
            return
        self._stopping.set()
        self._abort_running()
        with self.state.cond:
            self.state.cond.notify_all()
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads + self._build_threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._build_threads.clear()
        self._http = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> JenkinsStandIn:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def handle(self, request):
        """Answer one HTTP request (called by the server's handler threads)."""
        return routes.handle(self, request)

    def log_access(self, method: str, target: str) -> None:
        """Keep the request line, as Jenkins' access log (and any proxy's) keeps it.

        Jenkins' ``--accessLoggerClassName`` (winstone's SimpleAccessLogger,
        NCSA combined format) writes the method and the whole request target,
        query string included; so do nginx and Apache in front of it. What is
        here is what such a log would show anyone who may read it.
        """
        with self._access_lock:
            self.access_log.append(f"{method} {target}")

    def build_log(self) -> list[BuildRecord]:
        """Every build started so far (job, number, parameters, start and end), oldest first."""
        return self.state.build_log()

    def deliveries(self) -> list[Delivery]:
        """Every notification sent, dropped or failed so far, oldest first."""
        return self.notifier.deliveries()

    def restart(self, downtime: float = 0.0) -> None:
        """Play a Jenkins restart: running builds die unreported, the queue is lost,
        a new crumb is issued, and for ``downtime`` seconds every request gets 503.
        """
        with self.state.cond:
            self.queue.clear()
            self.crumb = secrets.token_hex(16)
            self.session = secrets.token_hex(4)
            self.starting_until = time.monotonic() + downtime
        self._abort_running()

    def stop_build(self, build: Build) -> None:
        """Abort a running build (``POST job/X/N/stop``)."""
        build.stop_requested.set()
        executor.kill(build)

    def wait_for_build(self, job: str, number: int, timeout: float = 10.0) -> BuildRecord:
        """Block until build ``number`` of ``job`` has finished and been finalized.

        Raises:
            TimeoutError: it did not finish in time.
        """
        deadline = time.monotonic() + timeout
        with self.state.cond:
            while True:
                found = self.state.jobs.get(job)
                build = found.builds.get(number) if found else None
                if build is not None and build.finalized:
                    return build.record()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{job} #{number} did not finish within {timeout} s")
                self.state.cond.wait(remaining)

    def _abort_running(self) -> None:
        with self.state.cond:
            running = [b for job in self.state.jobs.values() for b in job.running()]
            for build in running:
                build.silent = True
        for build in running:
            self.stop_build(build)

    def _serve(self) -> None:
        # A short poll interval keeps stop() quick; the default would cost 0.5 s each time.
        self._http.serve_forever(poll_interval=0.05)

    def _dispatch(self) -> None:
        """Move due queue items onto free executors until the server stops."""
        cond = self.state.cond
        while not self._stopping.is_set():
            with cond:
                started = self.queue.take_runnable()
                if not started:
                    wait = self.queue.seconds_until_due()
                    cond.wait(min(wait, 1.0) if wait is not None else 1.0)
            for build in started:
                thread = threading.Thread(target=self._run, args=(build,), daemon=True)
                thread.name = f"jenkins-standin-build-{build.job}-{build.number}"
                thread.start()
                self._build_threads = [t for t in self._build_threads if t.is_alive()]
                self._build_threads.append(thread)

    def _run(self, build: Build) -> None:
        """Run one build through its phases, notifying as the plugin does."""
        with self.state.cond:
            config = self.state.jobs[build.job].config
        secret = config.sensitive_names()
        env = executor.build_environment(build, self.url, self.root)
        variables = {k: env[k] for k in env if k.isupper()}
        build.log(f"{build.causes[0]}\nRunning as SYSTEM\n")
        build.log(f"Building in workspace {build.workspace}\n")
        for phase in self.notifier.phases_at_start():
            self.notifier.send(build, config.endpoints, phase, variables, secret)
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        try:
            result = executor.run_steps(
                build, config.shell_steps, env, tmp, self.faults.hang_builds
            )
            with self.state.cond:  # known before the post-build steps: still building
                build.result = result
            result = executor.archive_artifacts(build, config, result)
        except OSError as exc:
            build.log(f"FATAL: {exc}\n")
            result = "FAILURE"
        build.log(f"Finished: {result}\n")
        with self.state.cond:
            build.result, build.finished_at = result, time.time()
            self.state.cond.notify_all()
        self.notifier.send(build, config.endpoints, "COMPLETED", variables, secret)
        self.notifier.send(build, config.endpoints, self.notifier.final_phase(), variables, secret)
        with self.state.cond:
            build.finalized = True
        self.queue.release(build)
