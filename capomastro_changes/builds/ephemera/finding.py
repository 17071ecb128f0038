"""Finding the archive a build may restore, and keeping the record of who used which."""

from __future__ import annotations

from django.utils import timezone

from capomastro_changes.models import Ephemeron, EphemeronUse


def newest(dependency_id: int, name: str, key: str, fallback: bool) -> Ephemeron | None:
    """The newest committed archive of (dependency, name, key); with ``fallback``, any key."""
    committed = Ephemeron.objects.select_related("made_by__job").filter(
        dependency_id=dependency_id, name=name, state=Ephemeron.COMMITTED
    )
    found = committed.filter(key=key).order_by("-committed_at", "-pk").first()
    if found is None and fallback:
        found = committed.order_by("-committed_at", "-pk").first()
    return found


def description(archive: Ephemeron, key: str) -> dict:
    """What the builder is told about an archive it may restore."""
    return {
        "id": archive.pk,
        "name": archive.name,
        "key": archive.key,
        "exact": archive.key == key,
        "size": archive.size,
        "unpacked_size": archive.unpacked_size,
        "sha256": archive.sha256,
        "paths": archive.paths,
        "made_by": archive.made_by_text(),
    }


def note_download(archive: Ephemeron, request) -> None:
    """A build fetched the archive: a use, not yet confirmed by the builder."""
    EphemeronUse.objects.get_or_create(
        ephemeron=archive, request=request, kind=EphemeronUse.RESTORED
    )
    Ephemeron.objects.filter(pk=archive.pk).update(last_restored_at=timezone.now())


def note_outcome(archive: Ephemeron, request, ok: bool, why: str) -> bool:
    """The builder's word on the restore: unpacked, or refused and why. False if no download."""
    return bool(
        EphemeronUse.objects.filter(
            ephemeron=archive, request=request, kind=EphemeronUse.RESTORED
        ).update(outcome="ok" if ok else "refused", why="" if ok else why[:500])
    )


def invalidated_use(request, name: str) -> int | None:
    """The archive of set ``name`` this build restored that was invalidated since, if any."""
    return (
        EphemeronUse.objects.filter(
            request=request,
            kind=EphemeronUse.RESTORED,
            used_invalidated=True,
            ephemeron__name=name,
        )  # fmt: skip
        .values_list("ephemeron_id", flat=True)
        .first()
    )


def uses_of_requests(request_ids) -> dict[int, list[EphemeronUse]]:
    """Each request's uses, oldest first, with their archives and makers (one query)."""
    found: dict[int, list[EphemeronUse]] = {}
    uses = EphemeronUse.objects.select_related("ephemeron__made_by__job").filter(
        request_id__in=list(request_ids)
    )
    for use in uses.order_by("at", "pk"):
        found.setdefault(use.request_id, []).append(use)
    return found
