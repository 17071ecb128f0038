"""Kept for docs/locks.md's ``from capomastro_changes.locks import DependencyLocks``.

The build locks live in :mod:`capomastro_changes.coordination.locks`.
"""

from capomastro_changes.coordination.errors import LockError, LockLost, NotHolder
from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.coordination.values import AcquireResult, AcquireStatus, BusyPolicy

__all__ = [
    "AcquireResult",
    "AcquireStatus",
    "BusyPolicy",
    "DependencyLocks",
    "LockError",
    "LockLost",
    "NotHolder",
]
