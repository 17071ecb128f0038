"""Free text made fit to show: a password in any URL inside it becomes ``***``.

Probe errors, request details and check history are written by code that
already redacts, but they also carry what outside tools said (git, bzr,
Jenkins), which may quote a URL with its credentials. Every surface that
shows such text (admin pages, the status endpoint, the terminal) passes it
through :func:`redact_text` last, so the guard is the same everywhere.
"""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@", re.IGNORECASE)


def redact_text(text: str | None) -> str:
    """``text`` with the password of every URL in it replaced by ``***`` ("" for None)."""
    return _CREDENTIALS.sub(r"\g<head>:***@", text or "")
