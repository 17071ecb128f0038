"""Rebuild requests made: one active request per (dependency, revision), dispatched on commit.

The database's one-active-request-per-revision constraint makes a request
idempotent under any number of workers, ticks and retries; the dispatch task
is asked for by name (:mod:`capomastro_changes.enqueue`) once the request is
committed.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from capomastro_changes import enqueue
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.revisions import short_revision

log = logging.getLogger(__name__)


def request_rebuild(
    dependency: Dependency,
    revision: str,
    reason: str,
    *,
    revno: int | None = None,
    previous_revision: str = "",
    requested_by: str = "",
    upstream: RebuildRequest | None = None,
) -> RebuildRequest | None:
    """Record a request to rebuild ``dependency`` at ``revision``; None if one is active.

    The database's one-active-request-per-revision constraint makes this safe
    under any number of workers and retries. Dispatch is queued on commit.
    """
    try:
        with transaction.atomic():
            request = RebuildRequest.objects.create(
                dependency=dependency,
                revision=revision,
                revno=revno,
                previous_revision=previous_revision,
                reason=reason,
                priority=dependency.priority,
                requested_by=requested_by,
                upstream_request=upstream,
            )
    except IntegrityError:
        return None
    log.info("rebuild requested: %s at %s (%s)", dependency, short_revision(revision, revno, "?"),
             reason)  # fmt: skip
    enqueue.after_commit("capomastro_changes.dispatch_request", request.pk)
    return request


def current_revision(dep: Dependency) -> str:
    """The revision a rebuild asked for now builds: the source's, else the last built."""
    state = getattr(dep.source, "state", None) if dep.source_id else None
    return (state.last_revision if state else "") or dep.last_built_revision


def describe(request: RebuildRequest) -> str:
    """What changed and why, as Jenkins dashboards show it."""
    old = short_revision(request.previous_revision, empty="(none)")
    new = short_revision(request.revision, request.revno, empty="(current)")
    return f"{request.dependency.name}: {old} → {new}, {request.reason}"
