"""Nothing runs through a shell string: no ``shell=True``, ``os.system`` or ``os.popen``
anywhere in the shipped packages or the harnesses, found by reading their syntax trees."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("capomastro_changes", "bygmester_hooks", "stress", "benchmarks")
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"),
               ("subprocess", "getstatusoutput"), ("commands", "getoutput")}  # fmt: skip


def python_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def shell_uses(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"line {node.lineno}: shell={ast.unparse(keyword.value)}")
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in SHELL_CALLS:
                found.append(f"line {node.lineno}: {func.value.id}.{func.attr}()")
    return found


def test_the_packages_are_searched():
    assert sum(1 for _ in python_files()) > 50


@pytest.mark.parametrize("package", PACKAGES)
def test_no_subprocess_is_started_through_a_shell(package):
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        text = path.read_text()
        uses = shell_uses(ast.parse(text))
        for name in ("os.system", "os.popen", "shell=True"):  # also in strings passed along
            if name in text and not uses:
                uses.append(f"mentions {name}")
        if uses:
            offenders[str(path.relative_to(ROOT))] = uses
    assert offenders == {}


def test_the_search_would_find_one():
    tree = ast.parse("import os, subprocess\nsubprocess.run('ls', shell=True)\nos.system('x')\n")
    assert len(shell_uses(tree)) == 2
