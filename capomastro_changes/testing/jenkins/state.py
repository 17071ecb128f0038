"""The stand-in's jobs, builds and build log, guarded by one condition variable.

Every mutation happens under :attr:`State.cond`; the dispatcher waits on it
for due queue items, and the HTTP handlers render JSON while holding it, so
a reader never sees a half-updated build.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from capomastro_changes.testing.jenkins.config import JobConfig, parse_job_config, stored_form


class StandInError(Exception):
    """Base of the stand-in's refusals; each maps to one Jenkins HTTP answer."""


class NoSuchJob(StandInError):
    """The job name is unknown (404)."""


class JobExists(StandInError):
    """``createItem`` with a name already taken (400 + ``X-Error``)."""


class NoSuchBuild(StandInError):
    """The build number is unknown for that job (404)."""


@dataclass(frozen=True)
class BuildRecord:
    """One line of the build log: a build this stand-in started, and how it ended."""

    job: str
    number: int
    queue_id: int
    parameters: dict[str, str] | None
    started_at: float
    finished_at: float | None
    result: str | None

    def as_json(self) -> dict:
        """The record as the ``/standin/builds`` endpoint shows it."""
        return {
            "job": self.job,
            "number": self.number,
            "queue_id": self.queue_id,
            "parameters": self.parameters,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
        }


@dataclass(eq=False)
class Build:
    """A run of a job: its console, result, artifacts and the handle to stop it."""

    job: str
    number: int
    queue_id: int
    parameters: dict[str, str] | None
    causes: list[str]
    executor: int
    workspace: Path
    archive_dir: Path
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    result: str | None = None
    description: str | None = None
    display_name: str | None = None
    artifacts: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    finalized: bool = False
    # Set when Jenkins "dies" under the build (restart, shutdown): no more notifications.
    silent: bool = False
    process: subprocess.Popen | None = None

    @property
    def building(self) -> bool:
        """True until the build has finished (Jenkins' ``building`` flag).

        The result may be set before: Jenkins' ``Run.execute`` sets it when the
        build steps end and runs the post-build steps (archiving) after, so a
        build can show a ``result`` while ``building`` is still true.
        """
        return self.finished_at is None

    def log(self, text: str) -> None:
        """Append console output (list appends are atomic; readers join a copy)."""
        self.console.append(text)

    def record(self) -> BuildRecord:
        """A frozen snapshot for the build log."""
        return BuildRecord(
            job=self.job,
            number=self.number,
            queue_id=self.queue_id,
            parameters=dict(self.parameters) if self.parameters is not None else None,
            started_at=self.started_at,
            finished_at=self.finished_at,
            result=self.result,
        )


@dataclass(eq=False)
class Job:
    """A job: its config.xml as Jenkins stores it, what it means, and its builds."""

    name: str
    config_xml: str
    config: JobConfig
    disabled: bool = False
    reconfigurations: int = 0  # POSTs of config.xml: what "no rewrite" tests count
    next_build_number: int = 1
    builds: dict[int, Build] = field(default_factory=dict)

    def running(self) -> list[Build]:
        """Builds of this job that have not finished."""
        return [b for b in self.builds.values() if b.building]

    def last_build(self, predicate=lambda build: True) -> Build | None:
        """The newest build that satisfies ``predicate``."""
        for number in sorted(self.builds, reverse=True):
            if predicate(self.builds[number]):
                return self.builds[number]
        return None


class State:
    """Jobs and the build log; the queue lives in :mod:`.build_queue` on the same lock."""

    def __init__(self, root: Path):
        self.root = root
        self.cond = threading.Condition(threading.RLock())
        self.jobs: dict[str, Job] = {}
        self.log: list[Build] = []

    def job(self, name: str) -> Job:
        """The job called ``name``.

        Raises:
            NoSuchJob: there is none.
        """
        try:
            return self.jobs[name]
        except KeyError:
            raise NoSuchJob(name) from None

    def build(self, name: str, number: int) -> Build:
        """Build ``number`` of job ``name``.

        Raises:
            NoSuchJob, NoSuchBuild: either is unknown.
        """
        try:
            return self.job(name).builds[number]
        except KeyError:
            raise NoSuchBuild(f"{name} #{number}") from None

    def create_job(self, name: str, config_xml: str) -> Job:
        """Add a job from its config.xml.

        Raises:
            JobExists: the name is taken.
            JobConfigError: the XML is not a job.
        """
        config = parse_job_config(config_xml)
        with self.cond:
            if name in self.jobs:
                raise JobExists(name)
            job = Job(
                name=name, config_xml=stored_form(config_xml), config=config,
                disabled=config.disabled,
            )  # fmt: skip
            self.jobs[name] = job
            return job

    def reconfigure(self, name: str, config_xml: str) -> None:
        """Replace a job's config.xml, as ``POST job/X/config.xml`` does."""
        config = parse_job_config(config_xml)
        with self.cond:
            job = self.job(name)
            job.config_xml, job.config = stored_form(config_xml), config
            job.disabled = config.disabled
            job.reconfigurations += 1
            self.cond.notify_all()

    def delete_job(self, name: str) -> None:
        """Forget a job and its builds."""
        with self.cond:
            self.job(name)
            del self.jobs[name]

    def workspace(self, job: Job, slot: int) -> Path:
        """The job's workspace; concurrent builds get ``name@2``, ``name@3`` as in Jenkins."""
        suffix = "" if slot == 1 else f"@{slot}"
        path = self.root / "workspace" / f"{job.name}{suffix}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start_build(self, job: Job, queue_id: int, parameters, causes, executor: int) -> Build:
        """Create the next build of ``job`` (caller holds the lock)."""
        number = job.next_build_number
        job.next_build_number += 1
        in_use = {b.workspace for b in job.running()}
        slot = 1
        while self.workspace(job, slot) in in_use:
            slot += 1
        build = Build(
            job=job.name,
            number=number,
            queue_id=queue_id,
            parameters=parameters,
            causes=list(causes),
            executor=executor,
            workspace=self.workspace(job, slot),
            archive_dir=self.root / "jobs" / job.name / "builds" / str(number) / "archive",
        )
        job.builds[number] = build
        self.log.append(build)
        return build

    def build_log(self) -> list[BuildRecord]:
        """Every build started so far, oldest first."""
        with self.cond:
            return [build.record() for build in self.log]
