"""Full rebuilds: every enabled dependency asked for again at its current revision."""

from __future__ import annotations

from capomastro_changes.models import Dependency
from capomastro_changes.rebuilds.requests import current_revision, request_rebuild


def rebuild_everything(requested_by: str = "full rebuild") -> int:
    """Request a rebuild of every enabled dependency at its current revision (reason: full)."""
    deps = Dependency.objects.filter(changes_enabled=True).select_related("source__state")
    made = 0
    for dep in deps:
        made += (
            request_rebuild(
                dep,
                current_revision(dep),
                "full",
                previous_revision=dep.last_built_revision,
                requested_by=requested_by,
            )
            is not None
        )
    return made
