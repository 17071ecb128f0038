"""The failures a VCS read can end in, one type per kind.

Every message names the source (with any password stripped) and what went
wrong, in words an operator can act on; none carries a traceback.
"""

from __future__ import annotations


class ReadError(Exception):
    """The current revision of a source could not be read.

    Attributes:
        source: The source, as shown to operators (no userinfo).
        reason: What went wrong.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class MissingError(ReadError):
    """The branch or the repository does not exist (any more)."""


class ReadTimeout(ReadError):
    """The remote did not answer within the time limit."""


class TooLargeError(ReadError):
    """The remote sent more than the size cap allows."""


class PolicyError(ReadError):
    """The URL or branch was refused by the URL policy, before any traffic."""
