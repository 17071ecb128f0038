"""Saying what happened: the demo's running commentary and its closing summary.

Both read the records the system keeps (check history, rebuild requests,
project builds) and the stand-in's own build log, so they tell what an
operator would find, not what the script hoped for. Whether a change was
lost is judged from outside the system: the repositories' real tips against
what Jenkins really built.
"""

from __future__ import annotations

import time
from collections import Counter

from capomastro_changes.models import (
    CheckRecord,
    Dependency,
    ProjectBuild,
    ProjectBuildDependency,
    RebuildRequest,
)
from capomastro_changes.models.querysets import ACTIVE
from capomastro_changes.revisions import short_revision

QUIET_STATES = ("pending",)


def short(revision: str, revno: int | None = None) -> str:
    return short_revision(revision, revno, "-")


class Narrator:
    """Prints each new check, request state and project build once, as it appears."""

    def __init__(self) -> None:
        self.last_check = CheckRecord.objects.order_by("-pk").values_list("pk", flat=True).first()
        self.states: dict[int, str] = {}
        self.project_builds: dict[int, str] = {}

    def say(self, text: str) -> None:
        print(text, flush=True)

    def step(self, title: str) -> None:
        self.say(f"\n== {title}")

    def follow(self) -> None:
        self._checks()
        self._requests()
        self._project_builds()

    def until(self, predicate, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.follow()
            if predicate():
                return True
            time.sleep(0.1)
        self.say(f"   (still waiting after {timeout:g} s; going on)")
        return False

    def settle(self, timeout: float = 90.0) -> None:
        """Wait until no rebuild request is in flight, narrating all the way."""
        self.until(lambda: not RebuildRequest.objects.filter(state__in=ACTIVE).exists(),
                   timeout)  # fmt: skip
        self.follow()

    def _checks(self) -> None:
        new = CheckRecord.objects.select_related("source").order_by("pk")
        if self.last_check:
            new = new.filter(pk__gt=self.last_check)
        for check in new:
            self.last_check = check.pk
            names = ", ".join(check.source.dependencies.values_list("name", flat=True))
            change = (
                f"{short(check.old_revision, check.old_revno)} → "
                f"{short(check.new_revision, check.new_revno)}"
            )
            if check.new_revno is not None:
                change = f"revno {check.old_revno or '-'} → {check.new_revno}"
            loud = "  (history was REWRITTEN)" if check.outcome == "rewritten" else ""
            error = f" {check.error}" if check.error else ""
            self.say(
                f"   check {names} ({check.source.vcs}): {check.outcome:9} {change} "
                f"in {check.duration_ms:.1f} ms{loud}{error}"
            )

    def _requests(self) -> None:
        for request in RebuildRequest.objects.select_related("dependency", "build"):
            if self.states.get(request.pk) == request.state or request.state in QUIET_STATES:
                continue
            self.states[request.pk] = request.state
            at = short(request.revision, request.revno)
            what = f"{request.dependency} @ {at} ({request.reason})"
            self.say(f"   request #{request.pk} {what}: {request.state}"
                     f"{' - ' + request.detail if request.detail else ''}")  # fmt: skip

    def _project_builds(self) -> None:
        for pb in ProjectBuild.objects.select_related("project"):
            if self.project_builds.get(pb.pk) == pb.status:
                continue
            first = pb.pk not in self.project_builds
            self.project_builds[pb.pk] = pb.status
            if first:
                self.say(f"   project build {pb.project} {pb.build_key}: {links_of(pb)}")
            elif pb.status != "UNKNOWN":
                self.say(f"   project build {pb.project} {pb.build_key}: {pb.status}")


def links_of(pb: ProjectBuild) -> str:
    parts = []
    for link in ProjectBuildDependency.objects.filter(projectbuild=pb).select_related(
        "dependency", "build__job"
    ):
        if link.rebuilt:
            parts.append(f"{link.dependency} rebuilt")
        elif link.build:
            parts.append(f"{link.dependency} linked to {link.build}")
        else:
            parts.append(f"{link.dependency} linked (never built)")
    return ", ".join(parts)


def summary(jenkins, world) -> dict:
    """Figures of the run, from the records and from the stand-in's build log."""
    outcomes = Counter(CheckRecord.objects.values_list("outcome", flat=True))
    changes = Counter(
        CheckRecord.objects.filter(outcome__in=("changed", "rewritten")).values_list(
            "source__vcs", flat=True
        )
    )
    runs = Counter(
        (r.job, (r.parameters or {}).get("REVISION"), (r.parameters or {}).get("REASON"))
        for r in jenkins.build_log()
    )
    return {
        "checks": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "changes_detected": dict(changes),
        "builds_triggered": len(jenkins.build_log()),
        "project_builds": ProjectBuild.objects.count(),
        "linked_dependencies": ProjectBuildDependency.objects.filter(rebuilt=False).count(),
        "superseded_requests": RebuildRequest.objects.filter(state="superseded").count(),
        "duplicate_builds": sum(n - 1 for n in runs.values() if n > 1),
        "lost_changes": len(lost_changes(world, jenkins.build_log())),
    }


# Final request states an operator reads as "not built, and here is why". An
# ``error`` is not one: it is the system failing, and a change it leaves is lost.
EXPLAINED = ("discarded", "refused", "failed", "cancelled")


def lost_changes(world, build_log) -> list[str]:
    """Dependencies whose repository moved since the world was made, whose tip was
    neither built (by the stand-in's own log) nor left with a visible non-error reason."""
    built = {(r.job, (r.parameters or {}).get("REVISION")) for r in build_log if r.finished_at}
    lost = []
    for name, tip in world.tips().items():
        dep = Dependency.objects.select_related("job").get(name=name)
        if tip == world.baselines.get(name) or (dep.job.name, tip) in built:
            continue
        if not dep.changes_enabled:  # the admin shows it disabled: a visible reason
            continue
        if not RebuildRequest.objects.filter(dependency=dep, revision=tip, state__in=EXPLAINED):
            lost.append(f"{name} at {short(tip)}")
    return lost
