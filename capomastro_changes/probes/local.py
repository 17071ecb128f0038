"""The in-process probe: the VCS readers, with limits from the app's settings."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from capomastro_changes.conf import settings
from capomastro_changes.probes.base import unexpected_failure
from capomastro_changes.revisions import ProbeAnswer, Reading, Revision, SourceRef
from capomastro_changes.vcs import read
from capomastro_changes.vcs.errors import MissingError, ReadError


def probe(
    source: SourceRef,
    last: Revision | Iterable[Revision] | None = (),
    timeout: float | None = None,
) -> ProbeAnswer:
    """Read the source's current revision in this process.

    This is the check task's entry point: pass the answer with the stored
    state to :func:`capomastro_changes.detection.compare.decide`.

    Args:
        source: The source to read.
        last: The last known revision(s); for a local repository the answer
            says whether the tip descends from each (rewrite detection).
        timeout: Seconds the read may take (None: ``PROBE_TIMEOUT``).

    Returns:
        The answer; a failure is an answer with ``error`` set (and
        ``missing`` when the branch or repository is gone), never an exception.
    """
    started = time.monotonic()
    try:
        reading = read(
            source,
            last=[r.id for r in _as_tuple(last)],
            timeout=settings.PROBE_TIMEOUT if timeout is None else timeout,
            max_bytes=settings.GIT_MAX_ADVERTISEMENT,
            allowed_schemes=settings.ALLOWED_SCHEMES,
        )
    except ReadError as exc:
        missing = isinstance(exc, MissingError)
        return ProbeAnswer(source, error=str(exc), missing=missing, seconds=_since(started))
    except Exception as exc:  # a reader let out what it should have explained
        return replace(unexpected_failure(source, exc), seconds=_since(started))
    return answer_from(source, reading, _since(started))


def answer_from(source: SourceRef, reading: Reading, seconds: float = 0.0) -> ProbeAnswer:
    """The probe answer for a successful read."""
    return ProbeAnswer(source, reading.revision, reading.ancestry, seconds=seconds)


def _as_tuple(last: Revision | Iterable[Revision] | None) -> tuple[Revision, ...]:
    if last is None:
        return ()
    if isinstance(last, Revision):
        return (last,)
    return tuple(last)


def _since(started: float) -> float:
    return round(time.monotonic() - started, 6)
