"""Where the build locks were before the layout: ``from capomastro_changes.locks import
DependencyLocks``, as docs/locks.md showed it, keeps working.

They live in :mod:`capomastro_changes.coordination.locks`.
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
