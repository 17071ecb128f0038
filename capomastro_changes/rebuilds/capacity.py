"""How many builds a Jenkins server may have in flight, and who has a slot first."""

from __future__ import annotations

from django.db.models import Q

from capomastro_changes.conf import settings
from capomastro_changes.models import RebuildRequest


def cap_for(server) -> int:
    """The cap of a Jenkins server: its own setting, else the global one (0: none)."""
    if server.max_builds_in_flight is not None:
        return int(server.max_builds_in_flight)
    return int(settings.MAX_BUILDS_IN_FLIGHT)


def slots_ahead_of(request: RebuildRequest) -> int:
    """Requests of the same server, not started yet, that rank above this one.

    Higher priority, or the same priority and older: they should have a slot first.
    """
    return (
        RebuildRequest.objects.filter(dependency__job__server_id=request.dependency.job.server_id)
        .filter(Q(state="pending") | Q(state="waiting", waiting_for="capacity"))
        .filter(Q(priority__gt=request.priority) | Q(priority=request.priority, pk__lt=request.pk))
        .count()
    )
