"""An upload is staged while its build runs; the build's end commits or discards it.

Committing happens in the same transaction that settles the request on a
SUCCESS notification Jenkins gave that request (see
:func:`capomastro_changes.builds.events.settle`), so a failed, aborted,
stale or forged build can never make its upload restorable. An older
committed archive of the same (dependency, name, key) is evicted then: the
newest is the only one a build would restore.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from capomastro_changes.builds.ephemera.ending import end
from capomastro_changes.builds.ephemera.storage import delete, store
from capomastro_changes.models import Build, EphemeraGrant, Ephemeron, EphemeronUse

log = logging.getLogger(__name__)


def stage(grant: EphemeraGrant, name: str, key: str, body, upload: dict, limit: int) -> Ephemeron:
    """Store an uploaded archive, staged for the grant's build.

    Args:
        upload: what the builder announced: length, unpacked_size, sha256, paths.

    Raises:
        UploadRefused: see :func:`storage.store`.
    """
    request = grant.request
    stored = store(body, upload["length"], limit, request.dependency_id, upload["sha256"])
    try:
        with transaction.atomic():
            earlier = Ephemeron.objects.filter(
                made_by_request=request, name=name, state=Ephemeron.STAGED
            )
            end(earlier, Ephemeron.DISCARDED, "replaced by a later upload of the same build")
            archive = Ephemeron.objects.create(
                dependency_id=request.dependency_id,
                name=name,
                key=key,
                paths=upload["paths"],
                storage_name=stored.name,
                size=stored.size,
                unpacked_size=upload["unpacked_size"],
                sha256=stored.sha256,
                made_by_request=request,
            )
            EphemeronUse.objects.create(
                ephemeron=archive, request=request, kind=EphemeronUse.PERSISTED, outcome="ok"
            )
    except BaseException:
        delete(stored.name)
        raise
    log.info(
        "staged ephemera %s of %s: %s bytes, sha256 %s, for request #%s",
        name, request.dependency, stored.size, stored.sha256, request.pk,
    )  # fmt: skip
    return archive


def settle_uploads(request, build: Build | None, succeeded: bool) -> None:
    """Commit the request's staged uploads on success, discard them otherwise.

    Runs inside the caller's transaction; files are deleted once it commits.
    """
    staged = Ephemeron.objects.filter(made_by_request=request, state=Ephemeron.STAGED)
    if not succeeded:
        if count := end(staged, Ephemeron.DISCARDED, "its build did not succeed"):
            log.info("discarded %s staged ephemera of request #%s", count, request.pk)
        return
    tainted = set(
        EphemeronUse.objects.filter(
            request=request, kind=EphemeronUse.RESTORED, used_invalidated=True
        ).values_list("ephemeron__name", flat=True)
    )
    for archive in staged.order_by("pk"):
        this = Ephemeron.objects.filter(pk=archive.pk)
        if archive.name in tainted:  # made from an archive since invalidated: not kept
            end(this, Ephemeron.DISCARDED, "its build used an invalidated archive of this set")
            log.warning("discarded ephemera %s of %s: its build used an invalidated archive",
                        archive.name, build)  # fmt: skip
            continue
        older = Ephemeron.objects.filter(
            dependency_id=archive.dependency_id, name=archive.name, key=archive.key,
            state=Ephemeron.COMMITTED,
        )  # fmt: skip
        end(older, Ephemeron.EVICTED, f"superseded by archive #{archive.pk}")
        this.update(state=Ephemeron.COMMITTED, committed_at=timezone.now(), made_by=build)
        log.info("committed ephemera %s of %s (archive #%s)", archive.name, build, archive.pk)
