"""A logging filter that keeps credentials out of log lines, request lines included.

The Jenkins Notification plugin can only authenticate with ``?secret=`` in the
endpoint URL, and Django's development server logs every request line (this
site's quiet server logs the failed ones), so without this filter a 4xx or 5xx
notification would write the notification secret to the log.
"""

from __future__ import annotations

import logging

from capomastro_changes.redaction import printable, redact_text


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and arguments so no credential survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):  # a client's text never starts a line of its own
            record.args = tuple(
                printable(redact_text(a)) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):  # gunicorn's access log: a dict of atoms
            record.args = {
                k: redact_text(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
