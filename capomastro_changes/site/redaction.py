"""A logging filter that keeps secrets in URLs out of request log lines.

The Jenkins Notification plugin can only authenticate with ``?secret=`` in the
endpoint URL, and Django's development server logs every request line (this
site's quiet server logs the failed ones), so without this filter a 4xx or 5xx
notification would write the notification secret to the log.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMETER = re.compile(r"([?&](?:secret|token|api_token|password)=)[^&\s\"']*", re.I)


def redact_query(text: str) -> str:
    """``text`` with the values of secret-bearing query parameters replaced by ``***``."""
    return _SECRET_PARAMETER.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments so no secret query parameter survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        return True
