"""Runs every case of the corpus and sums up: cases, refused clearly, state moved, crashes."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from django.test.utils import setup_test_environment

from stress.corpus.case import run_case


def all_cases(tmp: Path) -> list:
    from stress.corpus import admin_forms, jenkins_answers, notifications, probe_scripts, sources

    return [
        *sources.url_cases(),
        *sources.branch_cases(),
        *probe_scripts.cases(tmp / "probes"),
        *jenkins_answers.cases(tmp / "jenkins"),
        *notifications.cases(),
        *admin_forms.cases(),
    ]


def run_corpus(tmp: Path, only: str | None = None) -> dict:
    call_command("migrate", interactive=False, verbosity=0)
    setup_test_environment()  # the test client, for the notification endpoint
    cases = [c for c in all_cases(tmp) if not only or only in c.name]
    outcomes = [run_case(case) for case in cases]
    failed = [o for o in outcomes if not o.refused_clearly or o.state_moved or o.crash]
    return {
        "ok": bool(outcomes) and not failed and len(outcomes) >= (60 if not only else 1),
        "cases": len(outcomes),
        "refused_clearly": sum(o.refused_clearly for o in outcomes),
        "state_moved": sum(o.state_moved for o in outcomes),
        "crashes": sum(bool(o.crash) for o in outcomes),
        "by_kind": _by_kind(outcomes),
        "failed": [o.as_json() | ({"trace": o.details} if o.crash else {}) for o in failed],
        "all": [o.as_json() for o in outcomes],
    }


def _by_kind(outcomes) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for o in outcomes:
        kinds[o.case.kind] = kinds.get(o.case.kind, 0) + 1
    return kinds
