"""What every probe is: a callable from a source to an answer, sharing runs per source.

A probe never raises for a source it could not read: the failure is part of
the answer (see :class:`~capomastro_changes.revisions.ProbeAnswer`), so that
each source has its own error boundary and a failure is recorded, not lost.
:func:`run_guarded` is that boundary's last resort: whatever a probe raises
that it should have turned into an answer (a bug, a library's exception
nobody foresaw) still becomes an error answer naming the source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from capomastro_changes.redaction import redact_text, redact_url
from capomastro_changes.revisions import ProbeAnswer, Revision, SourceRef

log = logging.getLogger(__name__)


class Probe(Protocol):
    """The probe contract."""

    def __call__(
        self, source: SourceRef, last: Iterable[Revision] = (), timeout: float | None = None
    ) -> ProbeAnswer:
        """Answer with the source's current revision.

        Args:
            source: The source to read.
            last: The last known revisions of the dependencies that share it;
                a probe with history at hand says which the tip descends from.
            timeout: Seconds the read may take (None: ``PROBE_TIMEOUT``).
        """


def probe_all(
    probe: Probe, lasts: Mapping[SourceRef, Iterable[Revision | None]]
) -> dict[SourceRef, ProbeAnswer]:
    """Run ``probe`` once per distinct source, whatever the number of dependencies.

    Args:
        probe: The probe to run.
        lasts: For each source, the last revisions of the dependencies using it
            (None for a dependency never checked).

    Returns:
        One answer per source.
    """
    return {
        source: run_guarded(probe, source, _distinct(revisions))
        for source, revisions in lasts.items()
    }


def run_guarded(
    probe: Probe, source: SourceRef, last: Iterable[Revision] = (), timeout: float | None = None
) -> ProbeAnswer:
    """Run ``probe`` for ``source``; an exception it lets out becomes an error answer."""
    try:
        return probe(source, last) if timeout is None else probe(source, last, timeout=timeout)
    except Exception as exc:  # the last resort: see the module docstring
        return unexpected_failure(source, exc)


def unexpected_failure(source: SourceRef, exc: Exception) -> ProbeAnswer:
    """The error answer for an exception no probe should have let out.

    It says which source and what kind of failure, in one line without
    credentials; the traceback is not shown (nor logged: its messages could
    carry a URL's password).
    """
    text = str(exc).strip()
    detail = redact_text(text.splitlines()[0])[:300] if text else "no details"
    kind = type(exc).__name__
    message = f"{redact_url(source.url)}: the probe failed unexpectedly ({kind}: {detail})"
    log.error("%s", message)
    return ProbeAnswer(source, error=message)


def _distinct(revisions: Iterable[Revision | None]) -> tuple[Revision, ...]:
    return tuple(dict.fromkeys(r for r in revisions if r is not None))
