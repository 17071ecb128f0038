"""Chain builds: the dependencies built after an upstream one, and none of them lost.

When a dependency's rebuild succeeds, the dependencies chained after it are
rebuilt, each after all of its upstreams. One of them may already have a
request at the same revision (the one-active-request rule then refuses a
second): one that has not started will build after this upstream anyway, but
one already in flight was built against the old upstream, so it is asked for
again when it ends. Either way the upstream request says what happened.
"""

from __future__ import annotations

import logging

from capomastro_changes.models import ChainLink, Dependency, RebuildRequest
from capomastro_changes.models.querysets import ACTIVE, IN_FLIGHT, WAITING
from capomastro_changes.rebuilds.planning import CycleError, downstream_order
from capomastro_changes.rebuilds.requests import current_revision, request_rebuild
from capomastro_changes.rebuilds.states import move

log = logging.getLogger(__name__)


def request_downstreams(request: RebuildRequest) -> None:
    """Rebuild the dependencies chained after this one, each after all its upstreams."""
    if not ChainLink.objects.filter(upstream_id=request.dependency_id).exists():
        return  # nothing is chained after it (most dependencies): no need to read the chains
    links = list(ChainLink.objects.values_list("upstream_id", "dependency_id"))
    downstreams: dict[int, list[int]] = {}
    upstreams: dict[int, set[int]] = {}
    for up, down in links:
        downstreams.setdefault(up, []).append(down)
        upstreams.setdefault(down, set()).add(up)
    try:
        chain = set(downstream_order(request.dependency_id, downstreams))
    except CycleError as exc:
        log.error("chain after %s not started: %s", request.dependency, exc)
        move(request.pk, ("succeeded",), detail=f"chain not started: {exc}")
        return
    direct = downstreams.get(request.dependency_id, [])
    notes = []
    for dep in Dependency.objects.filter(pk__in=direct).select_related("source__state"):
        if upstreams[dep.pk] & chain - {request.dependency_id}:
            continue  # another upstream in this chain goes first; it will ask
        notes.append(request_after(dep, request))
    note = "; ".join(n for n in notes if n)
    if note:
        detail = RebuildRequest.objects.filter(pk=request.pk).values_list("detail", flat=True)
        move(request.pk, ("succeeded",), detail=f"{detail.first() or ''}; chain: {note}")


def request_after(dep: Dependency, upstream: RebuildRequest) -> str:
    """Ask for ``dep`` after ``upstream``; what became of the ask when it was not new."""
    revision = current_revision(dep)
    made = request_rebuild(
        dep,
        revision,
        "upstream",
        previous_revision=dep.last_built_revision,
        requested_by=f"chain after {upstream.dependency}",
        upstream=upstream,
    )
    if made is not None:
        return ""
    active = RebuildRequest.objects.filter(
        dependency=dep, revision=revision, state__in=ACTIVE
    ).first()
    if active is None:  # it ended between the two looks: ask once more
        made = request_rebuild(dep, revision, "upstream", upstream=upstream,
                               previous_revision=dep.last_built_revision)  # fmt: skip
        return "" if made else f"{dep} was not asked for (a request at its revision is active)"
    if active.state in WAITING:
        return f"{dep} is built by request #{active.pk}, not started yet"
    if not remember(active.pk, upstream.pk):  # it ended between the two looks: ask now
        made = request_rebuild(dep, revision, "upstream", upstream=upstream,
                               previous_revision=dep.last_built_revision)  # fmt: skip
        return "" if made else f"{dep} was not asked for (a request at its revision is active)"
    log.info("%s is in flight (request #%s): built again after it", dep, active.pk)
    return f"{dep} was in flight (request #{active.pk}); it is built again when that ends"


def remember(request_id: int, upstream_id: int) -> bool:
    """Note on a request still in flight that its dependency builds again after it.

    Kept in the database beside the request, so neither a restarted Redis nor a
    restarted worker loses it. False when the request has already ended.
    """
    in_flight = RebuildRequest.objects.filter(pk=request_id, state__in=IN_FLIGHT)
    return in_flight.update(again_for_id=upstream_id) == 1


def follow_up(request: RebuildRequest) -> RebuildRequest | None:
    """The request ended: rebuild its dependency for an upstream that finished meanwhile."""
    noted = RebuildRequest.objects.filter(pk=request.pk, again_for__isnull=False)
    upstream_id = noted.values_list("again_for_id", flat=True).first()
    if upstream_id is None or not noted.update(again_for=None):
        return None  # nothing noted, or another delivery of the ending took it
    upstream = RebuildRequest.objects.select_related("dependency").filter(pk=upstream_id).first()
    if upstream is None:
        return None
    dep = Dependency.objects.select_related("source__state").get(pk=request.dependency_id)
    made = request_rebuild(
        dep,
        current_revision(dep),
        "upstream",
        previous_revision=dep.last_built_revision,
        requested_by=f"chain after {upstream.dependency} (after #{request.pk})",
        upstream=upstream,
    )
    if made is None:
        log.warning("%s: chain follow-up after #%s not asked for: one is active", dep, request.pk)
    return made
