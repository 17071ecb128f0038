"""Jenkins took a build: keep it if the request still holds its lock, else withdraw it.

The stored "last built revision" moves forward when Jenkins accepts a build,
so the change is not asked for again. That is only right for the lock's
holder: a request whose trigger outlived its lock (the reaper gave up on it,
or the lock expired and another request took it) must not build, so what
Jenkins took for it is cancelled (or stopped) and the reason written down.
When a build Jenkins accepted never happens, the revision moves back
(:mod:`.built_revisions`).
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

from capomastro_changes import metrics
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.errors import JenkinsError, JenkinsRefused
from capomastro_changes.jenkins.values import BuildInfo, QueueItem
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.rebuilds.dispatch import let_go
from capomastro_changes.rebuilds.requests import describe
from capomastro_changes.rebuilds.states import move

log = logging.getLogger(__name__)


def holds_lock(request: RebuildRequest) -> bool:
    """True while the request's token holds its dependency's lock."""
    holder = keyspaces().locks.inspect(request.dependency_id).holder
    return holder is not None and bool(request.lock_token) and holder.token == request.lock_token


def accepted(request: RebuildRequest, queue_id: int | None) -> bool:
    """Jenkins took the build: the dependency's last built revision moves forward now.

    Only for the lock's holder. Anything else (the reaper settled it, the lock
    went to another request) moves nothing and withdraws the build.

    Returns:
        True if the build is kept.
    """
    holder = holds_lock(request)
    with transaction.atomic():
        moved = holder and move(
            request.pk,
            ("triggering",),
            state="queued",
            jenkins_queue_id=queue_id,
            detail=f"in Jenkins' queue (item {queue_id})",
        )
        # Its notifications arrived before Jenkins' answer did, or the reaper
        # found the build and adopted it: both happen only for the holder.
        raced = RebuildRequest.objects.filter(
            pk=request.pk, state__in=("queued", "building", "succeeded", "failed")
        ).exists()
        built = Dependency.objects.filter(pk=request.dependency_id)
        if raced and not moved:  # only if nothing newer was built since it was asked for
            built = built.filter(last_built_revision=request.previous_revision)
        if moved or raced:
            built.update(last_built_revision=request.revision, last_built_revno=request.revno)
    if not (moved or raced):
        withdraw(request, queue_id)
        return False
    metrics.record_build_triggered()
    log.info("triggered %s (queue item %s)", describe(request), queue_id)
    return True


def withdraw(request: RebuildRequest, queue_id: int | None) -> None:
    """Take back a build Jenkins accepted for a request that no longer holds its lock."""
    lost = move(
        request.pk,
        ("triggering",),
        state="error",
        detail="the lock was lost before Jenkins answered the trigger",
    )
    outcome = cancel_in_jenkins(request, queue_id)
    note = f"; Jenkins took the build after the request had lost its lock: {outcome}"
    detail = RebuildRequest.objects.filter(pk=request.pk).values_list("detail", flat=True)
    RebuildRequest.objects.filter(pk=request.pk).update(detail=(detail.first() or "") + note)
    metrics.record_build_refused("lock_expired")
    log.warning("request #%s of %s%s", request.pk, request.dependency, note)
    if lost:  # nobody settled it yet: its slot goes back (the lock is not its own)
        let_go(request)


def build_it_became(client, item: QueueItem, tries: int = 10) -> QueueItem:
    """A left item names its build only once the executor made it (``executable`` is
    briefly null in Jenkins): read it again for a moment rather than miss the build."""
    for _ in range(tries):
        if item.waiting or item.cancelled or item.build_number is not None:
            return item
        time.sleep(0.2)
        item = client.queue_item(item.queue_id)
    return item


def cancel_in_jenkins(request: RebuildRequest, queue_id: int | None) -> str:
    """Cancel the queue item, or stop the build it became; what was done, for the record."""
    job = request.dependency.job.name
    client = client_for(request.dependency.job.server)
    try:
        if queue_id is None:
            found = client.find_by_parameter(job, "REQUEST_ID", str(request.pk))
        else:
            found = client.queue_item(queue_id)
        if isinstance(found, QueueItem) and found.waiting:
            try:
                client.cancel_queued(found.queue_id)
                return f"queue item {found.queue_id} cancelled"
            except JenkinsRefused:  # it left the queue meanwhile: the build it became
                found = client.queue_item(found.queue_id)
        if isinstance(found, QueueItem):
            found = build_it_became(client, found)
        number = found.number if isinstance(found, BuildInfo) else found and found.build_number
        if number is None:
            return "nothing of it was left to withdraw"
        client.stop_build(job, number)
        return f"build #{number} stopped"
    except JenkinsError as exc:
        return f"it could not be withdrawn ({exc})"
