"""Settling a request from what Jenkins says of it, when its notifications never came.

The reaper asks Jenkins for the request's queue item or build. Jenkins forgets
a queue item five minutes after it leaves the queue, and all of them when it
restarts; a job created again numbers its builds from 1. So when the item or
build is gone, or is another request's, the request's build is looked for by
the REQUEST_ID parameter every build we trigger carries. Only when Jenkins
knows nothing of it does the reaper give up, visibly: the request is an
error, its lock goes, and the revision is found again by the next check.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from capomastro_changes.builds.events import keep_lock, record_event, settle
from capomastro_changes.builds.notifications import (
    COMPLETED,
    FINALIZED,
    QUEUED,
    STARTED,
    BuildEvent,
)
from capomastro_changes.jenkins.client import client_for
from capomastro_changes.jenkins.errors import JenkinsNotFound
from capomastro_changes.jenkins.values import BuildInfo, QueueItem
from capomastro_changes.models import ProjectBuild, RebuildRequest
from capomastro_changes.models.querysets import IN_FLIGHT
from capomastro_changes.rebuilds.acceptance import accepted
from capomastro_changes.rebuilds.built_revisions import roll_back
from capomastro_changes.rebuilds.dispatch import let_go
from capomastro_changes.rebuilds.states import move

log = logging.getLogger(__name__)
# Builds of the job read, newest first, when looking for a request's build.
SEARCH_DEPTH = 20
# Phases of a project build still waiting to hear how its build ended.
UNFINISHED = (QUEUED, STARTED, COMPLETED)


def settle_from_jenkins(request: RebuildRequest) -> int:
    """Find the request's build in Jenkins and settle it; 1 if its state moved.

    Raises:
        JenkinsError: Jenkins could not be asked (unreachable, refused); the
            reaper asks again on its next pass.
    """
    client = client_for(request.dependency.job.server)
    job = request.dependency.job.name
    try:
        found = where_it_was(request, client)
    except JenkinsNotFound:
        found = None  # forgotten, or the job was created again
    if found is None or not carries(found, request):
        found = client.find_by_parameter(job, "REQUEST_ID", str(request.pk), SEARCH_DEPTH)
        if found is None:
            return give_up(request, nothing_found(request, job))
        if request.state == "triggering":  # its trigger was taken; the answer was lost
            if not accepted(request, found.queue_id):
                return 1  # it had lost its lock: what Jenkins took was withdrawn
            log.warning("reaper found request #%s in Jenkins after all; adopted", request.pk)
        elif found.queue_id:  # look there first next time
            RebuildRequest.objects.filter(pk=request.pk).update(jenkins_queue_id=found.queue_id)
    if isinstance(found, QueueItem):
        if found.cancelled:
            return give_up(request, f"queue item {found.queue_id} was cancelled in Jenkins")
        return still_waiting(request)
    return settle_build(request, found)


def where_it_was(request: RebuildRequest, client) -> QueueItem | BuildInfo | None:
    """What Jenkins has under the numbers we stored: the build, else the queue item."""
    job = request.dependency.job.name
    if request.build_id:
        return client.build(job, request.build.number)
    if not request.jenkins_queue_id:
        return None
    item = client.queue_item(request.jenkins_queue_id)
    if item.build_number is None:
        return item
    return client.build(job, item.build_number)


def carries(found: QueueItem | BuildInfo, request: RebuildRequest) -> bool:
    """True when the item or build was triggered for this request."""
    return found.parameters.get("REQUEST_ID") == str(request.pk)


def nothing_found(request: RebuildRequest, job: str) -> str:
    if request.state == "triggering":
        return "the trigger was interrupted before Jenkins answered"
    item = f"queue item {request.jenkins_queue_id}" if request.jenkins_queue_id else "its build"
    return (
        f"Jenkins no longer knows {item} (it forgets queue items five minutes after they "
        f"leave the queue, and all of them when it restarts), and no recent build of {job} "
        f"carries request #{request.pk}; the revision will be found again"
    )


def still_waiting(request: RebuildRequest) -> int:
    """The build still waits in Jenkins' queue: it keeps its lock and slot, and news is news."""
    keep_lock(request)
    RebuildRequest.objects.filter(pk=request.pk).update(updated_at=timezone.now())
    return 0


def settle_build(request: RebuildRequest, info: BuildInfo) -> int:
    """Record what Jenkins says of the request's build, as its notification would have.

    Returns 1 only if the request left flight: a recorded event that moved
    nothing (a replay of what we knew) is settled directly from the build.
    """
    phase = STARTED if info.building else FINALIZED
    event = BuildEvent(
        job_name=info.job, number=info.number, phase=phase, raw_phase=phase, status=info.result,
        full_url=info.url, parameters=info.parameters, queue_id=info.queue_id,
    )  # fmt: skip
    build = record_event(request.dependency.job.server, event, verified=True)
    if info.building:  # still running: it keeps its lock, and we look again later
        return still_waiting(request)
    in_flight = RebuildRequest.objects.filter(pk=request.pk, state__in=IN_FLIGHT)
    if not in_flight.exists():
        return 1  # the recorded event settled it
    settle(request, build, info.result or "FAILURE")
    return 0 if in_flight.exists() else 1


def give_up(request: RebuildRequest, why: str) -> int:
    """Settle as an error (the change is found again) and let the lock go.

    A build Jenkins had accepted moved the dependency's last built revision;
    it never happened, so the revision moves back.
    """
    taken = move(request.pk, ("queued", "building"), state="error", detail=why)
    if not taken and not move(request.pk, ("triggering",), state="error", detail=why):
        return 0
    if taken:
        roll_back(request)
    # Its project builds will never hear of a build: they end, visibly, as not built.
    ProjectBuild.objects.filter(rebuild_request=request, phase__in=UNFINISHED).update(
        status="NOT_BUILT", phase=FINALIZED, ended_at=timezone.now()
    )
    log.warning("reaper settled request #%s of %s: %s", request.pk, request.dependency, why)
    let_go(request)
    return 1
