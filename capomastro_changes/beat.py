"""A beat scheduler that only schedules while it is the one leader.

django-celery-beat has no leader election, and two beats send every task
twice. This scheduler holds a Redis lease; a second beat started by mistake
sees the lease taken and sends nothing until the first one stops renewing.
"""

from __future__ import annotations

import logging
import os
import socket

import redis
from django_celery_beat.schedulers import DatabaseScheduler

from capomastro_changes.conf import settings
from capomastro_changes.leases import Leadership
from capomastro_changes.locks import LockError
from capomastro_changes.redis_connection import get_redis

log = logging.getLogger(__name__)
LEASE_NAME = "beat"


class GuardedScheduler(DatabaseScheduler):
    """DatabaseScheduler that ticks only while holding the beat leader lease."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._holder = f"{socket.gethostname()}:{os.getpid()}"
        self._leader = False
        self._lease = Leadership(get_redis(), prefix=settings.REDIS_PREFIX)

    def lease_seconds(self) -> float:
        return max(30.0, 3 * float(self.max_interval or 5))

    def tick(self, *args, **kwargs):
        try:
            leader = self._lease.acquire_leadership(LEASE_NAME, self._holder, self.lease_seconds())
        except (
            LockError,
            redis.RedisError,
        ) as exc:  # Redis away: schedule nothing rather than twice
            log.warning("beat leader lease unavailable: %s", exc)
            leader = False
        if leader != self._leader:
            log.warning("beat %s %s leadership", self._holder, "took" if leader else "lost")
            self._leader = leader
        if not leader:
            return self.max_interval
        return super().tick(*args, **kwargs)
