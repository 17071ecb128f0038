"""What an import did, or would do: counts, the plan, and what it left alone.

Only names and field names go in here, never a value of a secret field, so
the report can be printed, logged and written as JSON as it stands.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

ACTIONS = ("created", "updated", "unchanged")
SINGULAR = {
    "servers": "server", "job types": "job type", "jobs": "job", "builds": "build",
    "artifacts": "artifact", "sources": "source", "dependencies": "dependency",
    "projects": "project", "project dependencies": "project dependency",
}  # fmt: skip
KINDS = tuple(SINGULAR)


@dataclass
class Report:
    dry_run: bool = False
    counts: dict = field(default_factory=lambda: defaultdict(lambda: dict.fromkeys(ACTIONS, 0)))
    plan: list[str] = field(default_factory=list)
    needs_source: list[dict] = field(default_factory=list)
    left_alone: list[dict] = field(default_factory=list)
    not_in_capomastro: list[str] = field(default_factory=list)

    def note(self, kind: str, action: str, label: str, fields: list[str] = ()) -> None:
        self.counts[kind][action] += 1
        if action == "created":
            self.plan.append(f"create {SINGULAR[kind]}: {label}")
        elif action == "updated":
            self.plan.append(f"update {SINGULAR[kind]}: {label} ({', '.join(fields)})")

    def changed_anything(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "counts": {kind: dict(self.counts[kind]) for kind in KINDS},
            "plan": self.plan,
            "needs_source": self.needs_source,
            "left_alone": self.left_alone,
            "not_in_capomastro": self.not_in_capomastro,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"

    def lines(self) -> list[str]:
        """The report as an operator reads it in a terminal."""
        verb = "would be" if self.dry_run else "were"
        out = [f"{'plan (dry run: nothing written)' if self.dry_run else 'imported'}:"]
        out += [f"  {line}" for line in self.plan] or ["  nothing to create or update"]
        out.append(f"counts ({verb} created / updated / left unchanged):")
        for kind in KINDS:
            c = self.counts[kind]
            out.append(f"  {kind:<22} {c['created']:>5} {c['updated']:>5} {c['unchanged']:>5}")
        if self.needs_source:
            out.append(
                f"dependencies that need a source ({len(self.needs_source)}; set it in the admin):"
            )
            out += [f"  {d['dependency']}: {d['why']}" for d in self.needs_source]
        if self.left_alone:
            out.append(f"in capomastro, left alone ({len(self.left_alone)}):")
            out += [f"  {x['kind']} {x['what']}: {x['why']}" for x in self.left_alone]
        if self.not_in_capomastro:
            out.append("ours, not in capomastro (kept, never deleted by an import):")
            out += [f"  {what}" for what in self.not_in_capomastro]
        return out
