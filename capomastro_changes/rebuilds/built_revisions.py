"""What a dependency is built at: moved back when a build Jenkins accepted never happened.

Jenkins' acceptance moves a dependency's ``last_built_revision`` forward
(:mod:`.acceptance`); when that build is then cancelled, superseded in the
queue or forgotten, the revision goes back, so the next check finds the
change again and it is not lost.
"""

from __future__ import annotations

import logging

from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.revisions import short_revision

log = logging.getLogger(__name__)


def roll_back(request: RebuildRequest) -> bool:
    """Jenkins accepted the request's build but it never happened: the revision moves back.

    A conditional update, so a dependency that moved on since is left alone.
    Then the next check finds the change again, and it is not lost.
    """
    revno = None
    if request.previous_revision:
        revno = (
            RebuildRequest.objects.filter(
                dependency_id=request.dependency_id, revision=request.previous_revision
            )
            .exclude(revno=None)
            .values_list("revno", flat=True)
            .first()
        )
    moved = Dependency.objects.filter(
        pk=request.dependency_id, last_built_revision=request.revision
    ).update(last_built_revision=request.previous_revision, last_built_revno=revno)
    if moved:
        back = short_revision(request.previous_revision, revno, "(none)")
        log.info("%s: last built revision back to %s", request.dependency, back)
    return bool(moved)
