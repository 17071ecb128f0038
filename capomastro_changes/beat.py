"""A beat scheduler that only schedules while it is the one leader.

django-celery-beat has no leader election, and two beats send every task
twice. This scheduler holds a Redis lease; a second beat started by mistake
sees the lease taken and sends nothing until the first one stops renewing.

Once held, the lease is renewed strictly: a beat that finds it gone (it
stalled past the lease, or Redis lost it) stops leading at once and says so.
It may stand again on a later tick, as a newcomer: it writes down what it
sent and reads the schedule back from the database before sending anything,
so what another beat sent meanwhile is not sent again.
"""

from __future__ import annotations

import logging
import os
import socket

from django.db import DatabaseError
from django_celery_beat.schedulers import DatabaseScheduler

from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import get_redis
from capomastro_changes.coordination.errors import CoordinationError, LockError
from capomastro_changes.coordination.leases import Leadership

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
        if not self.lead():
            return self.max_interval
        return super().tick(*args, **kwargs)

    def lead(self) -> bool:
        """Keep the lease (strictly, once held) or try to take it; True while leading."""
        try:
            if self._leader:
                self._lease.renew_leadership(LEASE_NAME, self._holder, self.lease_seconds())
                return True
            taken = self._lease.acquire_leadership(LEASE_NAME, self._holder, self.lease_seconds())
        except (LockError, CoordinationError) as exc:  # lost, or Redis away: never send twice
            if self._leader:
                log.warning("beat %s lost leadership: %s", self._holder, exc)
                self.step_down()
            else:
                log.warning("beat leader lease unavailable: %s", exc)
            return False
        if taken:
            log.warning("beat %s took leadership", self._holder)
            self.take_over()
        return taken

    def step_down(self) -> None:
        """Stop leading: what this beat sent is written down for whoever leads next."""
        self._leader = False
        try:
            self.sync()
        except DatabaseError as exc:  # the database too may be away: it is only logged
            log.warning("beat %s could not write down what it sent: %s", self._holder, exc)

    def take_over(self) -> None:
        """Start leading from the schedule as the database has it, not as this beat left it."""
        self._leader = True
        self._initial_read = True  # the next look at the schedule reads it all again
        self._heap = None
