"""Prometheus metrics: counters the engine bumps as it works, gauges read at scrape time.

Every web and worker process counts for itself. With ``PROMETHEUS_MULTIPROC_DIR``
set in the environment of *every* process before prometheus_client is imported
(the web server's and each Celery worker's), each process writes its values to
files there and the metrics view adds them up: that is how counters bumped in
prefork worker children reach a scrape of the web server. Without it, values
live in process memory and a scrape shows only the serving process, which is
right for a single-process install only.

Counting must never stop the work it counts: every ``record_*`` function
swallows and logs (once) whatever prometheus_client raises, such as a missing
or full multiprocess directory.
"""

from __future__ import annotations

import functools
import logging
import os
from types import SimpleNamespace

from django.db.models import Count
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)
NAMESPACE = "capomastro_changes"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PROBE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_CHANGE_OUTCOMES = ("changed", "rewritten")


@functools.cache
def _metrics() -> SimpleNamespace:
    """The metric objects, made on first use so that importing this module writes nothing."""
    return SimpleNamespace(
        checks=Counter(
            "checks", "Checks of sources, by outcome and VCS.", ["outcome", "vcs"],
            namespace=NAMESPACE,
        ),
        changes=Counter(
            "changes_detected", "Checks that found a change (rewrites included), by VCS.",
            ["vcs"], namespace=NAMESPACE,
        ),
        probe_seconds=Histogram(
            "probe_seconds", "How long probes took, by VCS.", ["vcs"],
            buckets=PROBE_BUCKETS, namespace=NAMESPACE,
        ),
        triggered=Counter(
            "builds_triggered", "Builds Jenkins accepted.", namespace=NAMESPACE
        ),
        refused=Counter(
            "builds_refused", "Rebuild requests that led to no build, by reason.", ["reason"],
            namespace=NAMESPACE,
        ),
        finished=Counter(
            "builds_finished", "Builds settled, by final state.", ["state"], namespace=NAMESPACE
        ),
        lock_waits=Counter(
            "lock_waits", "Requests that found their dependency building and wait, by policy.",
            ["policy"], namespace=NAMESPACE,
        ),
        handoffs=Counter(
            "lock_handoffs", "Locks passed from a finished build to the waiting request.",
            namespace=NAMESPACE,
        ),
    )  # fmt: skip


def _safely(record):
    """Run a ``record_*`` body; a failure to count is logged once and never raised."""

    @functools.wraps(record)
    def wrapper(*args, **kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception as exc:  # counting must never break the engine
            if not getattr(wrapper, "warned", False):
                wrapper.warned = True
                log.warning("metrics not recorded (%s): %s", record.__name__, exc)

    return wrapper


@_safely
def record_check(vcs: str, outcome: str, probe_seconds: float) -> None:
    """One check of a ``vcs`` source ended with ``outcome`` after a probe of ``probe_seconds``."""
    metrics = _metrics()
    metrics.checks.labels(outcome=outcome, vcs=vcs).inc()
    metrics.probe_seconds.labels(vcs=vcs).observe(max(probe_seconds, 0.0))
    if outcome in _CHANGE_OUTCOMES:
        metrics.changes.labels(vcs=vcs).inc()


@_safely
def declare() -> None:
    """Make the metrics exist, so that unlabelled counters show zero before they first move."""
    _metrics()


@_safely
def record_build_triggered() -> None:
    """Jenkins accepted a build."""
    _metrics().triggered.inc()


@_safely
def record_build_refused(reason: str) -> None:
    """A request ended without a build: ``busy_discard``, ``busy_fail``, ``jenkins``,
    or ``lock_expired``."""
    _metrics().refused.labels(reason=reason).inc()


@_safely
def record_build_finished(state: str) -> None:
    """A build was settled as ``succeeded`` or ``failed``."""
    _metrics().finished.labels(state=state).inc()


@_safely
def record_lock_wait(policy: str) -> None:
    """A request found its dependency building and now waits (``queue`` or ``supersede``)."""
    _metrics().lock_waits.labels(policy=policy).inc()


@_safely
def record_lock_handoff() -> None:
    """A finished build's lock went straight to the request waiting for it."""
    _metrics().handoffs.inc()


class DatabaseGauges:
    """Gauges counted in the database at scrape time: the same answer from any process."""

    def collect(self):
        from capomastro_changes.models import RebuildRequest, SourceState
        from capomastro_changes.models.querysets import IN_FLIGHT

        waiting = GaugeMetricFamily(
            f"{NAMESPACE}_requests_waiting",
            "Rebuild requests waiting, for a dependency's lock or a build slot.",
            labels=["waiting_for"],
        )
        counts = dict.fromkeys(("lock", "capacity"), 0)
        rows = RebuildRequest.objects.filter(state="waiting").values_list("waiting_for")
        for waiting_for, number in rows.annotate(n=Count("pk")).order_by():
            counts[waiting_for or "other"] = number
        for waiting_for, number in counts.items():
            waiting.add_metric([waiting_for], number)
        yield waiting
        in_flight = GaugeMetricFamily(
            f"{NAMESPACE}_builds_in_flight",
            "Builds started by this system and not yet settled, by request state.",
            labels=["state"],
        )
        counts = dict.fromkeys(IN_FLIGHT, 0)
        rows = RebuildRequest.objects.in_flight().values_list("state")
        counts.update(rows.annotate(n=Count("pk")).order_by())
        for state, number in counts.items():
            in_flight.add_metric([state], number)
        yield in_flight
        yield from behind_gauges()
        due = SourceState.objects.due(timezone.now()).order_by().count()
        yield GaugeMetricFamily(
            f"{NAMESPACE}_sources_due", "Enabled sources due for a check now.", value=due
        )


def behind_gauges():
    """Dependencies behind their source by reason, and for how long the oldest has been."""
    from capomastro_changes.models import Dependency
    from capomastro_changes.models.lag import REASONS, lags

    deps = list(Dependency.objects.exclude(source=None).select_related("source__state"))
    counts = dict.fromkeys(REASONS, 0)
    oldest = dict.fromkeys(REASONS, 0.0)
    now = timezone.now()
    for lag in lags(deps).values():
        if lag.behind:
            counts[lag.reason] += 1
            if lag.since is not None:
                oldest[lag.reason] = max(oldest[lag.reason], (now - lag.since).total_seconds())
    behind = GaugeMetricFamily(
        f"{NAMESPACE}_dependencies_behind",
        "Dependencies not built at their source's tip, by reason (builds fail, changes "
        "disabled and requests fail need a person; the others are catching up).",
        labels=["reason"],
    )
    longest = GaugeMetricFamily(
        f"{NAMESPACE}_dependencies_behind_seconds",
        "How long the longest-behind dependency of each reason has been behind.",
        labels=["reason"],
    )
    for reason in REASONS:
        behind.add_metric([reason], counts[reason])
        longest.add_metric([reason], round(oldest[reason], 3))
    yield behind
    yield longest


class _Forward:
    """Another registry's metrics, for the single-process case."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def scrape_registry() -> CollectorRegistry:
    """What one scrape shows: every process's counters, and the database gauges.

    Built per scrape, as prometheus_client's multiprocess mode asks.
    """
    declare()
    registry = CollectorRegistry()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseGauges())
    return registry
