"""The ``supersede`` busy policy: a build still waiting in Jenkins' queue gives way.

Only a cancel that Jenkins confirms counts: an item that started, or one
Jenkins does not know (forgotten, lost in a restart), may be a running build,
and taking its lock then would start a second build beside it. In every such
case the request waits as the newest instead, as with ``queue``
(:func:`capomastro_changes.rebuilds.dispatch.supersede`).
"""

from __future__ import annotations

import logging

from capomastro_changes.coordination.errors import LockError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.coordination.values import Grant
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.errors import JenkinsError
from capomastro_changes.models import RebuildRequest
from capomastro_changes.rebuilds.built_revisions import roll_back
from capomastro_changes.rebuilds.states import move, supersede_older

log = logging.getLogger(__name__)


def can_take_place_of(held: RebuildRequest | None) -> bool:
    """True when the holder's build still waits in Jenkins' queue, so it may be cancelled."""
    return bool(held and held.state == "queued" and held.jenkins_queue_id)


def take_place_of(request: RebuildRequest, held: RebuildRequest, token: str) -> Grant | None:
    """Cancel ``held``'s queue item and take over its lock; None if either is refused."""
    spaces = keyspaces()
    try:
        client_for(request.dependency.job.server).cancel_queued(held.jenkins_queue_id)
        grant = spaces.locks.take_over(request.dependency_id, token, request.pk)
    except (JenkinsError, LockError) as exc:
        log.info("could not supersede request #%s: %s", held.pk, exc)
        return None
    move(
        held.pk,
        ("queued",),
        state="superseded",
        superseded_by=request,
        detail=f"cancelled in Jenkins' queue; superseded by #{request.pk}",
    )
    roll_back(held)  # its build never happens; the newer one moves the revision on
    spaces.slots.release(request.dependency.job.server_id, held.pk)
    supersede_older(request)
    return grant
