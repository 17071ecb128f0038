"""The six invariants of a chaos run, measured after it settled, and the run's figures.

Builds are read from the stand-in's own build log (what Jenkins really ran),
final revisions from the repositories themselves, and the rest from the
database and Redis: the system's own records are what is being judged, so
they are never the only witness.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import CheckRecord, RebuildRequest
from capomastro_changes.models.querysets import FINAL
from stress.world import SourceHandle

EXPLAINED = ("discarded", "refused", "failed", "cancelled")


def tip_of(handle: SourceHandle) -> str:
    """The source's real final revision, read from the repository."""
    if handle.git:
        return handle.git.rev_parse("main")
    return handle.bzr.revision_info()[1]


def overlapping_builds(build_log) -> list[str]:
    """Pairs of builds of one job whose run times overlap."""
    by_job = defaultdict(list)
    for record in build_log:
        if record.started_at is not None:
            by_job[record.job].append(record)
    found = []
    for job, records in by_job.items():
        records.sort(key=lambda r: r.started_at)
        for before, after in zip(records, records[1:]):
            end = before.finished_at if before.finished_at is not None else float("inf")
            if after.started_at < end:
                found.append(f"{job} #{before.number} and #{after.number}")
    return found


def duplicate_builds(build_log) -> list[str]:
    """Builds of one job at one revision for one reason, beyond the first, with no build
    of another revision between them (a revision withdrawn and restored is built again)."""
    by_job = defaultdict(list)
    for record in build_log:
        by_job[record.job].append(record)
    found = []
    for job, records in by_job.items():
        records.sort(key=lambda r: (r.started_at is None, r.started_at or 0, r.number))
        seen: Counter = Counter()
        current = None
        for record in records:
            params = record.parameters or {}
            revision, why = params.get("REVISION"), params.get("REASON")
            if revision != current:
                seen.clear()
                current = revision
            seen[why] += 1
            if seen[why] == 2:
                found.append(f"{job} {str(revision)[:12]} ({why}) twice in a row")
    return found


def lost_revisions(handles: list[SourceHandle], build_log) -> list[str]:
    """Sources whose final revision was never built and has no recorded reason why not.

    A source that never moved from its first (baseline) revision has nothing to build.
    """
    built = {(r.job, (r.parameters or {}).get("REVISION")) for r in build_log if r.finished_at}
    lost = []
    for handle in handles:
        dep, tip = handle.dependency, tip_of(handle)
        if tip == handle.baseline or (dep.name, tip) in built:
            continue
        if RebuildRequest.objects.filter(dependency=dep, revision=tip, state__in=EXPLAINED):
            continue
        lost.append(f"{dep.name} at {tip[-24:]}")
    return lost


def built_at(handle: SourceHandle, build_log) -> str:
    """The revision the dependency is built at, by what Jenkins ran: its newest
    successful build's, else the baseline (nothing was ever built)."""
    ran = [
        r for r in build_log
        if r.job == handle.dependency.name and r.finished_at and r.result == "SUCCESS"
    ]  # fmt: skip
    if not ran:
        return handle.baseline
    newest = max(ran, key=lambda r: (r.started_at or 0, r.number))
    return (newest.parameters or {}).get("REVISION", "")


def silent_laggards(handles: list[SourceHandle], build_log) -> list[str]:
    """Enabled dependencies not built at their source's real tip and not shown as behind
    it with a reason that needs a person (convergence, docs/locks.md)."""
    from capomastro_changes.models import Dependency
    from capomastro_changes.models.lag import lags

    ids = [h.dependency.pk for h in handles]
    deps = {d.pk: d for d in Dependency.objects.filter(pk__in=ids).select_related("source__state")}
    shown = lags(list(deps.values()))
    found = []
    for handle in handles:
        dep = deps[handle.dependency.pk]
        if not dep.changes_enabled:
            continue
        tip, built = tip_of(handle), built_at(handle, build_log)
        if built == tip or shown[dep.pk].stuck:
            continue
        why = shown[dep.pk].reason or "shown at its tip"
        found.append(f"{dep.name}: built at {built[-16:]}, tip {tip[-16:]} ({why})")
    return found


def stuck_locks(dependency_ids, source_ids) -> list[str]:
    """Build locks, waiters and check locks still held once everything settled."""
    locks, check_locks, _ = keyspaces()
    stuck = []
    for dep in dependency_ids:
        state = locks.inspect(dep)
        if state.holder:
            stuck.append(f"dependency {dep} held by request {state.holder.request}")
        if state.waiter:
            stuck.append(f"dependency {dep} has waiter {state.waiter.request}")
    for source in source_ids:
        if check_locks.client.exists(check_locks._key("check", source)):
            stuck.append(f"source {source} check lock")
    return stuck


def unexplained_requests() -> list[str]:
    """Rebuild requests in no final state."""
    active = RebuildRequest.objects.exclude(state__in=FINAL)
    return [f"#{r.pk} {r.dependency_id} {r.state}: {r.detail[:80]}" for r in active]


def measure(handles: list[SourceHandle], build_log) -> dict[str, list[str]]:
    """Every invariant's violations (each list must be empty)."""
    deps = [h.dependency.pk for h in handles]
    sources = [h.dependency.source_id for h in handles]
    return {
        "overlapping_builds": overlapping_builds(build_log),
        "duplicate_builds": duplicate_builds(build_log),
        "lost_revisions": lost_revisions(handles, build_log),
        "stuck_locks": stuck_locks(deps, sources),
        "unexplained_requests": unexplained_requests(),
        "silent_laggards": silent_laggards(handles, build_log),
    }


def figures(build_log) -> dict:
    """What the run did: checks and their outcomes, builds, requests by final state."""
    states = Counter(RebuildRequest.objects.values_list("state", flat=True))
    superseded = RebuildRequest.objects.filter(state="superseded")
    cancelled_in_queue = superseded.filter(detail__startswith="cancelled in Jenkins").count()
    return {
        "checks": CheckRecord.objects.count(),
        "check_outcomes": dict(Counter(CheckRecord.objects.values_list("outcome", flat=True))),
        "builds": len(build_log),
        "build_results": dict(Counter(r.result or "none" for r in build_log)),
        "requests": sum(states.values()),
        "request_states": dict(states),
        "coalesced_requests": superseded.count() - cancelled_in_queue,
        "superseded_requests": cancelled_in_queue,
    }
