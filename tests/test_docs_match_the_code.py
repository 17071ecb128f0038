"""Every setting, command, URL, task, scheduler and module the docs name exists in the code:
someone who follows the docs gets what they say (install.md once named a scheduler without
the guard against a second beat)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

from capomastro_changes.cli.main import build_parser
from capomastro_changes.conf import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
CODE = "\n".join(p.read_text() for p in (ROOT / "capomastro_changes").rglob("*.py"))


def named(pattern: str) -> list[tuple[str, str]]:
    """(document, name) for every match of ``pattern`` in the docs."""
    found = []
    for doc in DOCS:
        found += [(doc.name, m.group(1)) for m in re.finditer(pattern, doc.read_text())]
    return sorted(set(found))


def test_every_setting_named_exists():
    unknown = [
        (doc, name) for doc, name in named(r"\b(CAPOMASTRO_CHANGES_[A-Z_]+)\b")
        if name.removeprefix("CAPOMASTRO_CHANGES_") not in DEFAULTS and f'"{name}"' not in CODE
    ]  # fmt: skip
    assert unknown == []


def test_every_row_of_the_settings_table_is_a_setting():
    text = (ROOT / "docs" / "install.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    table = table.split("Environment switches read by the standalone site", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \|", table, re.M)
    names = {n for row in rows for n in row if n and not n.startswith("CAPOMASTRO_CHANGES_")}
    assert len(names) > 15 and sorted(names - set(DEFAULTS)) == []


def test_every_command_named_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    used = named(r"`capomastro-changes ([a-z][a-z-]*)") + named(r"\$ capomastro-changes ([a-z-]+)")
    assert used and [(doc, c) for doc, c in used if c not in commands] == []


def test_every_scheduler_and_dotted_path_named_exists():
    missing = []
    for doc, path in named(r"`([a-z_]+(?:\.[a-z_]+)+:[A-Za-z_]+)`"):
        module, _, attr = path.partition(":")
        if not hasattr(importlib.import_module(module), attr):
            missing.append((doc, path))
    tasks = set(re.findall(r'name="(capomastro_changes\.[a-z_]+)"', CODE))
    for doc, path in named(r"`(capomastro_changes(?:\.[A-Za-z_]+)+)`"):
        if path in tasks or path == "capomastro_changes.migrations":  # a task; a package alias
            continue
        if not _importable(path):
            missing.append((doc, path))
    assert missing == []


def _importable(path: str) -> bool:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            thing = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(thing, attr):
                return False
            thing = getattr(thing, attr)
        return True
    return False


@pytest.mark.urls("capomastro_changes.site.urls")
def test_every_endpoint_named_resolves():
    unresolved = []
    for doc, url in named(r"(/changes/(?:[A-Za-z0-9_/.-]|<[^>]*>)*)"):
        path = re.sub(r"<[^>]*>", "1", url.split("?")[0])
        path = path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"
        try:
            resolve(path)
        except Resolver404:
            unresolved.append((doc, url))
    assert unresolved == []


def test_the_scheduler_the_docs_configure_is_the_guarded_one():
    from capomastro_changes.site import settings as site

    configured = named(r'CELERY_BEAT_SCHEDULER = "([^"]+)"')
    assert configured and {s for _, s in configured} == {site.CELERY_BEAT_SCHEDULER}, configured
