"""How an archive ends, whatever the reason: a state, a reason, and its file gone after commit.

Staging (a replaced upload, a build that failed, one superseded by a newer
commit) and housekeeping (invalidation, age, the total cap) all end archives
this one way, so no ended row keeps a file name that points at nothing.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from capomastro_changes.builds.ephemera.storage import delete
from capomastro_changes.models import Ephemeron


def end(archives, state: str, why: str) -> int:
    """Move ``archives`` to ``state`` with a reason, deleting their files after commit."""
    with transaction.atomic():
        # Locked by primary key: PostgreSQL locks no row of a query's outer join.
        rows = Ephemeron.objects.filter(pk__in=list(archives.values_list("pk", flat=True)))
        chosen = list(rows.select_for_update().values_list("pk", "storage_name"))
        if not chosen:
            return 0
        Ephemeron.objects.filter(pk__in=[pk for pk, _ in chosen]).update(
            state=state, ended_at=timezone.now(), ended_why=why[:200], storage_name=""
        )
        for _, name in chosen:
            transaction.on_commit(lambda name=name: delete(name))
    return len(chosen)
