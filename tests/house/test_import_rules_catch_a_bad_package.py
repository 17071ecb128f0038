"""The import rules fail where they should: a bad package, built in a temporary directory."""

from __future__ import annotations

import textwrap

import import_rules as rules


def make_package(root, files: dict[str, str]):
    package = root / "shop"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for folder in [package, *(p for p in package.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return package


LAYERS = [
    rules.Layer("bridges", ("shop.bridge",)),
    rules.Layer("stages", ("shop.stage",)),
    rules.Layer("entry points", ("shop.tasks", "shop")),
]


def test_a_cycle_hidden_inside_a_function_is_found_with_its_lines(tmp_path):
    package = make_package(
        tmp_path,
        {
            "stage/a.py": "from shop.stage import b\n",
            "stage/b.py": "def late():\n    from shop.stage.a import thing\n",
        },
    )
    loops = rules.cycles(rules.inside(rules.read_imports(package), "shop"))
    assert len(loops) == 1
    where = [i.where() for i in loops[0]]
    assert any("stage/a.py:1: shop.stage.a imports shop.stage.b" in w for w in where)
    assert any("stage/b.py:2: shop.stage.b imports shop.stage.a" in w for w in where)


def test_a_stage_importing_the_tasks_is_an_upward_import(tmp_path):
    package = make_package(
        tmp_path,
        {
            "tasks.py": "from shop.stage import work\n",
            "stage/work.py": "def go():\n    from shop.tasks import send\n",
            "bridge/redis_side.py": "import redis\n",
        },
    )
    found = rules.upward(rules.inside(rules.read_imports(package), "shop"), LAYERS)
    assert [(i.importer, i.imported, i.line) for i in found] == [
        ("shop.stage.work", "shop.tasks", 2)
    ]


def test_relative_imports_are_resolved_like_absolute_ones(tmp_path):
    package = make_package(
        tmp_path,
        {
            "stage/a.py": "from . import b\nfrom ..bridge import c\n",
            "stage/b.py": "",
            "bridge/c.py": "",
        },
    )
    targets = {i.imported for i in rules.read_imports(package) if i.importer == "shop.stage.a"}
    assert targets == {"shop.stage.b", "shop.bridge.c"}


def test_a_clean_package_passes_every_rule(tmp_path):
    package = make_package(
        tmp_path,
        {
            "tasks.py": "from shop.stage import work\n",
            "stage/work.py": "from shop.bridge import io\n",
            "bridge/io.py": "import json\n",
        },
    )
    imports = rules.inside(rules.read_imports(package), "shop")
    assert rules.cycles(imports) == []
    assert rules.upward(imports, LAYERS) == []
    assert rules.unplaced(rules.modules_of(package), LAYERS) == []


def test_a_module_without_a_layer_is_named(tmp_path):
    package = make_package(tmp_path, {"stage/a.py": "", "stray/b.py": ""})
    layers = [rules.Layer("stages", ("shop.stage",))]
    assert rules.unplaced(rules.modules_of(package), layers) == [
        "shop",
        "shop.stray",
        "shop.stray.b",
    ]
