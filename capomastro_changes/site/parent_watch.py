"""A child of ``run`` ends when ``run`` does, even when ``run`` is killed with SIGKILL.

``run`` starts its worker, beat and web server with
``CAPOMASTRO_CHANGES_PARENT_PID`` set to its own pid. At start-up each asks the
kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``, Linux),
then ends at once if that parent is already gone. The variable is removed
after, so processes the child forks (Celery's pool, gunicorn's workers) are
left to their own parent, which stops them.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
VARIABLE = "CAPOMASTRO_CHANGES_PARENT_PID"


def die_with_parent() -> None:
    """Arrange SIGTERM on the parent's death, if ``run`` started this process."""
    expected = os.environ.pop(VARIABLE, "")
    if not expected.isdigit():
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(expected):  # it died before we asked: nobody will stop us
        os.kill(os.getpid(), signal.SIGTERM)
