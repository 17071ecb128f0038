"""What every probe is: a callable from a source to an answer, sharing runs per source.

A probe never raises for a source it could not read: the failure is part of
the answer (see :class:`~capomastro_changes.revisions.ProbeAnswer`), so that
each source has its own error boundary and a failure is recorded, not lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from capomastro_changes.revisions import ProbeAnswer, Revision, SourceRef


class Probe(Protocol):
    """The probe contract."""

    def __call__(self, source: SourceRef, last: Iterable[Revision] = ()) -> ProbeAnswer:
        """Answer with the source's current revision.

        Args:
            source: The source to read.
            last: The last known revisions of the dependencies that share it;
                a probe with history at hand says which the tip descends from.
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
    return {source: probe(source, _distinct(revisions)) for source, revisions in lasts.items()}


def _distinct(revisions: Iterable[Revision | None]) -> tuple[Revision, ...]:
    return tuple(dict.fromkeys(r for r in revisions if r is not None))
