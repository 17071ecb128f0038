"""What a bad-input case is, how it runs, and how "no state moved" is judged.

A case returns the error the system gave (the text an operator would read);
it is refused clearly when that text matches what the case expects. Any other
exception is a crash. State is the part of the database that only a good input
may move: stored revisions, what was last built, builds and their phases,
every rebuild request (a new one in any state, pending and triggering
included, is state moved), current builds, chain links, intervals. The one
move a bad input may make is the one that records it: a request it was
feeding ends as ``error`` or ``refused``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    """One bad input and the error it must get."""

    kind: str
    name: str
    run: Callable[[], str]
    expect: str  # a regular expression the error text must match


@dataclass
class Outcome:
    case: Case
    message: str = ""
    refused_clearly: bool = False
    state_moved: bool = False
    moved: list[str] = field(default_factory=list)
    crash: str = ""
    details: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "kind": self.case.kind,
            "name": self.case.name,
            "expected": self.case.expect,
            "got": self.message[:300],
            "refused_clearly": self.refused_clearly,
            "state_moved": self.state_moved,
            "moved": self.moved[:10],
            "crash": self.crash,
        }


class Baseline:
    """The state a case must leave as it found it; a case re-marks it after its setup."""

    def __init__(self) -> None:
        self.snapshot = fingerprint()

    def mark(self) -> None:
        self.snapshot = fingerprint()


BASELINE: Baseline | None = None


def mark() -> None:
    """Called by a case once its own fixtures exist: state is judged from here."""
    if BASELINE is not None:
        BASELINE.mark()


def run_case(case: Case) -> Outcome:
    global BASELINE
    BASELINE = Baseline()
    outcome = Outcome(case)
    try:
        outcome.message = case.run() or ""
    except Exception as exc:  # noqa: BLE001 - a crash is what is being counted
        outcome.crash = f"{type(exc).__name__}: {exc}"[:300]
        outcome.details = traceback.format_exc().splitlines()[-6:]
        return outcome
    outcome.refused_clearly = bool(re.search(case.expect, outcome.message, re.I | re.S))
    outcome.moved = what_moved(BASELINE.snapshot, fingerprint())
    outcome.state_moved = bool(outcome.moved)
    return outcome


# Where a request fed a bad input may end: the error is recorded, nothing went forward.
RECORDED_ERRORS = ("error", "refused")


def what_moved(before: dict, after: dict) -> list[str]:
    """What changed between two fingerprints, in words; empty when nothing did."""
    moved = [name for name in before if name != "requests" and before[name] != after[name]]
    old, new = before["requests"], after["requests"]
    for pk, state in sorted(new.items()):
        if pk not in old:
            moved.append(f"request #{pk} created ({state})")
        elif state != old[pk] and state not in RECORDED_ERRORS:
            moved.append(f"request #{pk} moved from {old[pk]} to {state}")
    moved += [f"request #{pk} deleted" for pk in sorted(old.keys() - new.keys())]
    return moved


def fingerprint() -> dict:
    """What only a good input may move."""
    from capomastro_changes.models import (
        Build,
        ChainLink,
        Dependency,
        ProjectDependency,
        RebuildRequest,
        SourceState,
    )

    return {
        "stored revisions": sorted(
            SourceState.objects.values_list("source_id", "last_revision", "last_revno")
        ),
        "last built": sorted(
            Dependency.objects.values_list("pk", "last_built_revision", "check_interval")
        ),
        "builds": sorted(Build.objects.values_list("pk", "phase", "status")),
        "requests": dict(RebuildRequest.objects.values_list("pk", "state")),
        "current builds": sorted(ProjectDependency.objects.values_list("pk", "current_build_id")),
        "chain links": sorted(ChainLink.objects.values_list("upstream_id", "dependency_id")),
    }


def validation_text(exc) -> str:
    """Every message of a Django ValidationError, in one line."""
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "; ".join(exc.messages)
