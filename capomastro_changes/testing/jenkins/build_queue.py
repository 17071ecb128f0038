"""Jenkins' build queue as the stand-in plays it: quiet period, folding, blocking, executors.

The rules are Jenkins' own (``Queue.scheduleInternal``): a trigger whose
parameter set equals that of an item still waiting is folded into it (its
due time becomes the earlier of the two) instead of queueing a second build;
a job without ``concurrentBuild`` keeps its next item blocked while a build
runs; items that left the queue are remembered for five minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from capomastro_changes.testing.jenkins.state import Build, StandInError, State

LEFT_ITEM_TTL = 300.0


class NotBuildable(StandInError):
    """The job is disabled (409 "X is not buildable")."""


class NotParameterized(StandInError):
    """``buildWithParameters`` on a job without parameters (400)."""


class NothingSubmitted(StandInError):
    """``/build`` on a parameterised job without the form (400 "Nothing is submitted")."""


class NoSuchItem(StandInError):
    """No queue item with that id, or it was forgotten (404)."""


class NotCancellable(StandInError):
    """The item already left the queue (422 "Item for id (N) is not cancellable")."""


@dataclass(eq=False)
class QueueItem:
    """A waiting (or recently left) request to build a job."""

    id: int
    job: str
    parameters: dict[str, str] | None
    causes: list[str]
    due: float
    queued_at: float = field(default_factory=time.time)
    why: str | None = None
    blocked: bool = False
    buildable: bool = False
    left_at: float | None = None
    cancelled: bool = False
    build_number: int | None = None

    @property
    def waiting(self) -> bool:
        """True while the item is still in the queue."""
        return self.left_at is None


class BuildQueue:
    """The queue and the executor pool, sharing :class:`State`'s lock.

    ``left_item_ttl`` is how long an item that left the queue is remembered
    (Jenkins: five minutes); a test shortens it to meet a forgotten item.
    ``executable_lag`` is how long a left item shows ``executable: null``:
    Jenkins' ``Queue$LeftItem.getExecutable()`` is null until the executor
    has made the build (``WorkUnitContext``), a moment after the item left;
    a build that already ended certainly has been made.
    """

    executable_lag: float = 0.1

    def __init__(
        self,
        state: State,
        executors: int = 2,
        quiet_period: float = 5.0,
        left_item_ttl: float = LEFT_ITEM_TTL,
    ):
        self.state = state
        self.left_item_ttl = left_item_ttl
        self.executors = executors
        self.quiet_period = quiet_period
        self.items: dict[int, QueueItem] = {}
        self.busy: set[int] = set()
        self._next_id = 1

    def schedule(self, name, given, *, with_parameters, delay=None, cause="Started by user"):
        """Queue a build of ``name``, or fold it into an identical waiting item.

        Args:
            name: the job.
            given: the parameters from the request (undefined ones are dropped).
            with_parameters: True for ``buildWithParameters``, False for ``build``.
            delay: seconds from ``delay=Nsec``; the job's or server's quiet period if None.
            cause: the short description of why it was triggered.

        Returns:
            ``(item, created)``: ``created`` is False when an item was folded.

        Raises:
            NoSuchJob, NotBuildable, NotParameterized, NothingSubmitted.
        """
        with self.state.cond:
            job = self.state.job(name)
            if job.disabled:
                raise NotBuildable(f"{name} is not buildable")
            config = job.config
            if with_parameters and not config.parameterized:
                raise NotParameterized(f"{name} is not parameterized")
            if not with_parameters and config.parameterized and given is None:
                raise NothingSubmitted("Nothing is submitted")
            parameters = None
            if config.parameterized:
                parameters = config.defaults()
                parameters.update({k: v for k, v in (given or {}).items() if k in parameters})
            if delay is None:
                delay = (
                    config.quiet_period if config.quiet_period is not None else self.quiet_period
                )
            due = time.monotonic() + max(0.0, float(delay))
            for item in self.items.values():
                if item.waiting and item.job == name and item.parameters == parameters:
                    item.causes.append(cause)
                    item.due = min(item.due, due)
                    self.state.cond.notify_all()
                    return item, False
            item = QueueItem(self._next_id, name, parameters, [cause], due)
            if delay and float(delay) > 0:  # Jenkins says why at once (Queue.Item.getWhy)
                item.why = f"In the quiet period. Expires in {float(delay):.1f} sec"
            self._next_id += 1
            self.items[item.id] = item
            self.state.cond.notify_all()
            return item, True

    def item(self, queue_id: int) -> QueueItem:
        """The queue item ``queue_id``, waiting or left within five minutes.

        Raises:
            NoSuchItem: unknown or forgotten.
        """
        try:
            return self.items[queue_id]
        except KeyError:
            raise NoSuchItem(f"Provided id ({queue_id}) not found") from None

    def cancel(self, queue_id: int) -> QueueItem:
        """Take a waiting item out of the queue.

        Raises:
            NoSuchItem: unknown id.
            NotCancellable: it already left the queue.
        """
        with self.state.cond:
            item = self.item(queue_id)
            if not item.waiting:
                raise NotCancellable(f"Item for id ({queue_id}) is not cancellable")
            item.left_at, item.cancelled, item.why = time.monotonic(), True, None
            return item

    def waiting(self) -> list[QueueItem]:
        """Items still in the queue, oldest first."""
        return [item for item in self.items.values() if item.waiting]

    def clear(self) -> None:
        """Lose the whole queue, as a Jenkins restart in this stand-in does."""
        with self.state.cond:
            self.items.clear()

    def take_runnable(self) -> list[Build]:
        """Start every due, unblocked item that an executor is free for.

        Returns:
            The builds created; the caller runs each one.
        """
        now = time.monotonic()
        started = []
        with self.state.cond:
            self._forget_old(now)
            for item in sorted(self.waiting(), key=lambda i: i.id):
                build = self._try_start(item, now)
                if build is not None:
                    started.append(build)
        return started

    def _try_start(self, item: QueueItem, now: float) -> Build | None:
        job = self.state.jobs.get(item.job)
        if job is None:
            item.left_at, item.cancelled = now, True
            return None
        if item.due > now:
            item.why = f"In the quiet period. Expires in {item.due - now:.1f} sec"
            return None
        running = job.running()
        if running and not job.config.concurrent:
            item.blocked, item.buildable = True, False
            item.why = f"Build #{running[-1].number} is already in progress (ETA: N/A)"
            return None
        free = [n for n in range(self.executors) if n not in self.busy]
        if not free:
            item.blocked, item.buildable = False, True
            item.why = "Waiting for next available executor"
            return None
        self.busy.add(free[0])
        build = self.state.start_build(job, item.id, item.parameters, item.causes, free[0])
        item.left_at, item.why, item.build_number = now, None, build.number
        item.blocked = item.buildable = False
        return build

    def release(self, build: Build) -> None:
        """Give the build's executor back and wake the dispatcher."""
        with self.state.cond:
            self.busy.discard(build.executor)
            self.state.cond.notify_all()

    def seconds_until_due(self) -> float | None:
        """How long the dispatcher may sleep before an item's quiet period ends."""
        now = time.monotonic()
        dues = [item.due - now for item in self.waiting() if item.due > now]
        return min(dues) if dues else None

    def _forget_old(self, now: float) -> None:
        for queue_id in [
            item.id
            for item in self.items.values()
            if item.left_at is not None and now - item.left_at > self.left_item_ttl
        ]:
            del self.items[queue_id]
