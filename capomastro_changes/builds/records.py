"""Build rows from build events: created once per Jenkins build, moved only forward.

A build is known by its job and number, but Jenkins numbers builds per job
*instance*: a job that was deleted and created again (the trigger recreates a
missing job) starts again at #1. An event whose build carries another request
id than the stored build of that number is a new build: the stored one is
moved aside, to a record of the job as it was, and keeps its links and
artifacts there.
"""

from __future__ import annotations

import logging

from django.db import transaction

from capomastro_changes.builds.notifications import (
    COMPLETED,
    FINALIZED,
    QUEUED,
    REQUEST_PARAMETER,
    STARTED,
    BuildEvent,
)
from capomastro_changes.models import Artifact, Build, Job
from capomastro_changes.redaction import is_secret_name

log = logging.getLogger(__name__)
PHASE_ORDER = {QUEUED: 0, STARTED: 1, COMPLETED: 2, FINALIZED: 3}


class NumberClash(Exception):
    """A reused build number could not be moved aside (a thousand earlier jobs have it)."""


def store_build(job: Job, event: BuildEvent) -> tuple[Build, bool]:
    """Create or update the build; False when the event is older than what we know.

    A parameter that holds a credential (``EPHEMERA_TOKEN``, anything named like
    a token or password) is never stored, even when a plugin sends it.
    """
    parameters = {k: v for k, v in event.parameters.items() if not is_secret_name(k)}
    first_sight = {
        "phase": event.phase,
        "status": event.status or "",
        "url": event.full_url or "",
        "parameters": parameters,
        "revision": parameters.get("REVISION", ""),
        "queue_id": event.queue_id,
    }
    with transaction.atomic():
        build, created = Build.objects.select_for_update().get_or_create(
            job=job, number=event.number, defaults=first_sight
        )
        if not created and another_build(build, event):
            move_aside(build)
            build, created = Build.objects.create(job=job, number=event.number, **first_sight), True
        if not created and PHASE_ORDER[event.phase] < PHASE_ORDER.get(build.phase, 0):
            return build, False
        if not created and event.phase == build.phase and event.phase == FINALIZED:
            return build, False  # a replay of the last phase
        if not created:
            build.phase = event.phase
            build.status = event.status or build.status
            build.url = event.full_url or build.url
            build.parameters = parameters or build.parameters
            # Linked to its request, the build's revision is the request's: kept.
            build.revision = build.revision or parameters.get("REVISION", "")
            build.queue_id = build.queue_id or event.queue_id
            build.save()
        Artifact.objects.bulk_create(
            [Artifact(build=build, filename=a.path, url=a.url or "") for a in event.artifacts],
            ignore_conflicts=True,
        )
    return build, True


def another_build(stored: Build, event: BuildEvent) -> bool:
    """True when the event is of a different build that reuses the stored one's number.

    Only our request id tells builds apart: it is on every build we trigger.
    A stored build without one is another build only once it was finalized
    (a build gains no parameters after that).
    """
    new = str(event.parameters.get(REQUEST_PARAMETER, ""))
    old = str((stored.parameters or {}).get(REQUEST_PARAMETER, ""))
    if not new or new == old:
        return False
    return bool(old) or stored.phase == FINALIZED


def move_aside(build: Build) -> Job:
    """Move a build of an earlier instance of its job to a job row of its own.

    The row is named after the job, "(earlier job N)" with the first N whose
    number is free, on the same server and of the same job type, so project
    builds and requests that link the old build keep it, artifacts and all.
    """
    job = build.job
    for generation in range(1, 1000):
        name = f"{job.name[:230]} (earlier job {generation})"
        earlier, _ = Job.objects.get_or_create(
            server_id=job.server_id, name=name, defaults={"jobtype_id": job.jobtype_id}
        )
        if not Build.objects.filter(job=earlier, number=build.number).exists():
            Build.objects.filter(pk=build.pk).update(job=earlier)
            log.warning(
                "%s #%s is a new build (the job was created again): the stored one moved to %s",
                job.name, build.number, name,
            )  # fmt: skip
            return earlier
    raise NumberClash(f"{job.name} #{build.number}: every earlier-job record has that number")
