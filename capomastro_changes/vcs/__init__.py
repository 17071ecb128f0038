"""VCS readers: the only modules that import dulwich or breezy.

No Django here: ``bygmester-probe`` runs these inside an LXC container where
Django is not configured, so limits and the allowed schemes are parameters.
breezy is imported on first use of a bzr source, so a git-only caller never
pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from capomastro_changes.redaction import redact_url
from capomastro_changes.revisions import Reading, SourceRef
from capomastro_changes.vcs.errors import (
    MissingError,
    PolicyError,
    ReadError,
    ReadTimeout,
    TooLargeError,
)
from capomastro_changes.vcs.urls import DEFAULT_ALLOWED_SCHEMES

__all__ = [
    "DEFAULT_ALLOWED_SCHEMES",
    "MissingError",
    "PolicyError",
    "ReadError",
    "ReadTimeout",
    "TooLargeError",
    "read",
]


def read(
    source: SourceRef,
    *,
    last: Iterable[str] = (),
    timeout: float = 30.0,
    max_bytes: int = 32 * 1024 * 1024,
    allowed_schemes: Iterable[str] = DEFAULT_ALLOWED_SCHEMES,
    history: bool = False,
) -> Reading:
    """Read the tip of ``source`` with the reader for its VCS.

    Args:
        source: The source.
        last: Last known revision ids (for ancestry where history is at hand).
        timeout: Seconds a remote read may take.
        max_bytes: Largest git ref advertisement accepted.
        allowed_schemes: Schemes the URL policy lets through.
        history: bzr: open the branch whatever its scheme to tell ancestry
            (git has it for local repositories; a remote one gives refs only).

    Raises:
        ReadError: See :func:`capomastro_changes.vcs.git.read_head` and
            :func:`capomastro_changes.vcs.bzr.read_tip`.
    """
    if source.vcs == "git":
        from capomastro_changes.vcs import git

        return git.read_head(
            source.url, source.branch, last=last, timeout=timeout, max_bytes=max_bytes,
            allowed_schemes=allowed_schemes,
        )  # fmt: skip
    if source.vcs == "bzr":
        from capomastro_changes.vcs import bzr

        return bzr.read_tip(
            source.url, source.branch, last=last, timeout=timeout,
            allowed_schemes=allowed_schemes, history=history,
        )  # fmt: skip
    raise PolicyError(redact_url(source.url), f"unknown version control system {source.vcs!r}")
