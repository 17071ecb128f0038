"""The app's keyspaces on the app's Redis, built in one place for every caller."""

from __future__ import annotations

from typing import NamedTuple

from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import get_redis
from capomastro_changes.coordination.leases import CheckLocks
from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.coordination.slots import BuildSlots


class Keyspaces(NamedTuple):
    """Build locks per dependency, check locks per source, build slots per server."""

    locks: DependencyLocks
    checks: CheckLocks
    slots: BuildSlots


def keyspaces() -> Keyspaces:
    """The three keyspaces, on the configured (or embedded) Redis and prefix."""
    client, prefix = get_redis(), settings.REDIS_PREFIX
    return Keyspaces(
        DependencyLocks(client, prefix=prefix),
        CheckLocks(client, prefix=prefix),
        BuildSlots(client, prefix=prefix),
    )
