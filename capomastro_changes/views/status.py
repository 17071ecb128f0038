"""Status documents for dashboards: a source or a project, now, as plain JSON-ready dicts.

Each document costs a fixed number of queries whatever the number of
dependencies (active requests are read for all of them at once), plus one
Redis round trip per dependency for its lock. Nothing secret goes in: URLs
lose their passwords (in free text too: errors, details and reasons pass
through the admin's ``redact_text``), locks show who holds them but never
their tokens.
"""

from __future__ import annotations

import logging

from bygmester_hooks import bounds
from capomastro_changes.builds.ephemera.finding import uses_of_requests
from capomastro_changes.coordination.errors import CoordinationError
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import (
    Build,
    Dependency,
    Project,
    ProjectBuild,
    ProjectDependency,
    RebuildRequest,
    SourceState,
)
from capomastro_changes.models.lag import Lag, lags
from capomastro_changes.models.querysets import IN_FLIGHT, WAITING
from capomastro_changes.redaction import redact_text, redact_url

log = logging.getLogger(__name__)
MAX_PROJECT_BUILDS = 50


def source_status(source_id: int) -> dict | None:
    """Where a source stands: last check, next check, and each dependency on it."""
    state = SourceState.objects.select_related("source").filter(pk=source_id).first()
    if state is None:
        return None
    source = state.source
    deps = list(
        Dependency.objects.filter(source_id=source_id)
        .select_related("source__state")
        .order_by("name")
    )
    return {
        "source": source.pk,
        "vcs": source.vcs,
        "url": redact_url(source.url),
        "branch": source.branch,
        "enabled": state.enabled,
        "last_revision": state.last_revision,
        "last_revno": state.last_revno,
        "last_outcome": state.last_outcome,
        "last_error": redact_text(state.last_error),
        "consecutive_failures": state.consecutive_failures,
        "last_checked_at": state.last_checked_at,
        "last_changed_at": state.last_changed_at,
        "next_check_at": state.next_check_at,
        "dependencies": dependency_documents(deps),
    }


def project_status(project_id: int, builds: int = 10) -> dict | None:
    """Where a project stands: each dependency with its current build, and the latest builds."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    members = list(
        ProjectDependency.objects.filter(project=project)
        .select_related("dependency__source__state", "current_build__job")
        .order_by("dependency__name")
    )
    documents = dependency_documents([m.dependency for m in members])
    for member, document in zip(members, documents):
        document["auto_track"] = member.auto_track
        document["current_build"] = build_document(member.current_build)
    latest = list(
        ProjectBuild.objects.filter(project=project)[: max(1, min(builds, MAX_PROJECT_BUILDS))]
    )
    uses = uses_of_requests(pb.rebuild_request_id for pb in latest if pb.rebuild_request_id)
    return {
        "project": project.pk,
        "name": project.name,
        "dependencies": documents,
        "builds": [project_build_document(pb, uses) for pb in latest],
    }


def dependency_documents(deps: list[Dependency]) -> list[dict]:
    """One document per dependency: building or not, the waiting request, the lock."""
    active: dict[int, list[RebuildRequest]] = {dep.pk: [] for dep in deps}
    requests = (
        RebuildRequest.objects.filter(dependency__in=deps, state__in=IN_FLIGHT + WAITING)
        .select_related("build")
        .order_by("-created_at", "-pk")
    )
    for request in requests:
        active[request.dependency_id].append(request)
    since = {pk: min(r.created_at for r in found) for pk, found in active.items() if found}
    behind = lags(deps, since)
    uses = uses_of_requests(r.pk for found in active.values() for r in found)
    return [_dependency_document(dep, active[dep.pk], behind[dep.pk], uses) for dep in deps]


def _dependency_document(
    dep: Dependency, active: list[RebuildRequest], lag: Lag, uses: dict
) -> dict:
    in_flight = next((r for r in active if r.state in IN_FLIGHT), None)
    waiting = [r for r in active if r.state in WAITING]
    return {
        "dependency": dep.pk,
        "name": dep.name,
        "busy_policy": dep.busy_policy,
        "changes_enabled": dep.changes_enabled,
        "last_built_revision": dep.last_built_revision,
        "last_built_revno": dep.last_built_revno,
        "building": in_flight is not None,
        "build_request": request_document(in_flight, uses),
        "waiting_request": request_document(waiting[0] if waiting else None),
        "requests_waiting": len(waiting),
        "lock": lock_document(dep.pk),
        "behind_source": lag.as_dict() | {"detail": redact_text(lag.detail)},
    }


def request_document(request: RebuildRequest | None, uses: dict | None = None) -> dict | None:
    if request is None:
        return None
    return {
        "ephemera": [use_document(use) for use in (uses or {}).get(request.pk, ())],
        "request": request.pk,
        "state": request.state,
        "revision": request.revision,
        "revno": request.revno,
        "reason": request.reason,
        "waiting_for": request.waiting_for,
        "detail": redact_text(request.detail),
        "created_at": request.created_at,
        "build": build_document(request.build),
    }


def build_document(build: Build | None) -> dict | None:
    if build is None:
        return None
    return {
        "number": build.number,
        "phase": build.phase,
        "status": build.status,
        "revision": build.revision,
        "url": build.url,
    }


def use_document(use) -> dict:
    """A set a build restored, refused or persisted: which archive, its integrity, its maker."""
    archive = use.ephemeron
    return {
        "kind": use.kind,
        "outcome": use.outcome,
        "name": archive.name,
        "key": archive.key,
        "archive": archive.pk,
        "state": archive.state,
        "size": archive.size,
        "unpacked_size": archive.unpacked_size,
        "sha256": archive.sha256,
        "made_by": archive.made_by_text(),
        "used_invalidated": use.used_invalidated,
        "why": redact_text(use.why),
    }


def project_build_document(pb: ProjectBuild, uses: dict | None = None) -> dict:
    return {
        "ephemera": [use_document(use) for use in (uses or {}).get(pb.rebuild_request_id, ())],
        "build_key": pb.build_key,
        "phase": pb.phase,
        "status": pb.status,
        "reason": redact_text(pb.reason),
        "requested_by": pb.requested_by,
        "requested_at": pb.requested_at,
        "ended_at": pb.ended_at,
        "rebuild_request": pb.rebuild_request_id,
    }


def lock_document(dependency_id: int) -> dict | None:
    """Who holds the dependency's build lock and who waits for it; None if Redis is away."""
    try:
        state = keyspaces().locks.inspect(dependency_id)
    except CoordinationError as exc:
        log.warning("lock of dependency %s not read for status: %s", dependency_id, exc)
        return None
    holder, waiter = state.holder, state.waiter
    return {
        "held": holder is not None,
        "holder_request": _request_id(holder.request) if holder else None,
        "since": holder.since if holder else None,
        "expires_at": holder.expires_at if holder else None,
        "fence": state.last_fence,
        "waiter_request": _request_id(waiter.request) if waiter else None,
    }


def _request_id(value: str) -> int | str:
    number = bounds.whole_number(value, bounds.BIGINT_MAX)
    return value if number is None else number
