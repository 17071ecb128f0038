"""Behind its source: which dependencies are not built at their source's tip, since when, why.

The convergence invariant (docs/locks.md) says every enabled dependency ends
built at its source's current revision. One that has not is either catching
up (a request is on its way, or the next check asks for the tip) or cannot
converge by itself (its builds fail, its change builds are disabled, its
requests keep ending in error): the admin, the status JSON and the metrics
show which, with since when and why, so no dependency lags silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from capomastro_changes.models.capomastro import Dependency
from capomastro_changes.models.requests import RebuildRequest
from capomastro_changes.revisions import short_revision

CATCHING_UP = "catching up"
NEXT_CHECK = "next check"
BUILDS_FAIL = "builds fail"
REQUESTS_FAIL = "requests fail"
CHANGES_DISABLED = "changes disabled"
# Nothing moves these by itself: a person has to look.
STUCK = (BUILDS_FAIL, REQUESTS_FAIL, CHANGES_DISABLED)
REASONS = (CATCHING_UP, NEXT_CHECK, *STUCK)


@dataclass(frozen=True)
class Lag:
    """How far a dependency is from its source's tip; ``reason`` empty when it is at it."""

    reason: str = ""
    since: datetime | None = None
    detail: str = ""

    @property
    def behind(self) -> bool:
        return bool(self.reason)

    @property
    def stuck(self) -> bool:
        return self.reason in STUCK

    def as_dict(self) -> dict:
        return {
            "behind": self.behind,
            "stuck": self.stuck,
            "reason": self.reason,
            "since": self.since,
            "detail": self.detail,
        }


AT_TIP = Lag()


def lags(deps: list[Dependency], active: dict[int, datetime] | None = None) -> dict[int, Lag]:
    """Each dependency's lag: two queries (one when ``active`` is given), plus one a failing one.

    ``active`` maps a dependency to when its oldest active request was made,
    for callers that read the active requests already.
    """
    ids = [d.pk for d in deps]
    if active is None:
        active = dict(
            RebuildRequest.objects.active()
            .filter(dependency_id__in=ids)
            .values("dependency_id")
            .annotate(first=Min("created_at"))
            .values_list("dependency_id", "first")
            .order_by()
        )
    newest = (
        RebuildRequest.objects.filter(dependency_id__in=ids, state__in=ENDED)
        .values("dependency_id")
        .annotate(last=Max("pk"))
        .values("last")
        .order_by()
    )
    latest = {r.dependency_id: r for r in RebuildRequest.objects.filter(pk__in=newest)}
    return {d.pk: lag_of(d, active.get(d.pk), latest.get(d.pk)) for d in deps}


ENDED = ("succeeded", "failed", "error")


def lag_of(dep: Dependency, active_since: datetime | None, latest: RebuildRequest | None) -> Lag:
    """One dependency's lag, from its source's state and its latest ended request."""
    state = _state_of(dep)
    if state is None or not state.last_revision:
        return AT_TIP  # never checked: nothing known to be behind
    tip, built = state.last_revision, dep.last_built_revision
    since = state.last_changed_at
    if not dep.changes_enabled:
        if built == tip:
            return AT_TIP
        return Lag(CHANGES_DISABLED, since, f"change builds are off; the source is at "
                   f"{_short(tip)}, the dependency built at {_short(built)}")  # fmt: skip
    if active_since is not None:
        return Lag(CATCHING_UP, active_since, "a rebuild request is on its way")
    if built != tip:
        if latest is not None and latest.state == "error":
            return Lag(REQUESTS_FAIL, failing_since(dep, "error") or since, latest.detail)
        return Lag(NEXT_CHECK, since, f"the next check asks for {_short(tip)}")
    if latest is not None and latest.state == "failed" and latest.revision == tip:
        return Lag(BUILDS_FAIL, failing_since(dep, "failed"), latest.detail)
    return AT_TIP


def failing_since(dep: Dependency, state: str) -> datetime | None:
    """When the first request ending in ``state`` since the last success ended."""
    ok = RebuildRequest.objects.filter(dependency=dep, state="succeeded").aggregate(last=Max("pk"))
    after = RebuildRequest.objects.filter(dependency=dep, state=state)
    if ok["last"] is not None:
        after = after.filter(pk__gt=ok["last"])
    return after.aggregate(first=Min("updated_at"))["first"]


def _state_of(dep: Dependency):
    if not dep.source_id:
        return None
    return getattr(dep.source, "state", None)


def _short(revision: str) -> str:
    return short_revision(revision, empty="(nothing)")
