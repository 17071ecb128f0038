"""Reading a package's imports, every one of them, and holding them to the house rules.

Imports made inside functions count as much as those at the top: an import
moved into a function to dodge a cycle is still the cycle. Each finding names
the file and line of the import that breaks the rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen from the module that makes it."""

    importer: str
    imported: str
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}"


def module_name(package_dir: Path, path: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package_dir: Path) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(package_dir, p): p for p in sorted(package_dir.rglob("*.py"))}


def read_imports(package_dir: Path) -> list[Import]:
    """Every import of every module, resolved to a module of the package or an outside name."""
    modules = modules_of(package_dir)
    found = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _targets(node, name, is_package, modules):
                found.append(Import(name, target, path, node.lineno))
    return found


def _targets(node, importer: str, is_package: bool, modules) -> Iterable[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = importer.split(".") if is_package else importer.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    # ``from pkg import mod`` imports the module ``pkg.mod``; ``from mod import name``, ``mod``.
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def inside(imports: list[Import], package: str) -> list[Import]:
    """The imports whose target is a module of ``package`` (self-imports left out)."""
    prefix = package + "."
    return [
        i
        for i in imports
        if (i.imported == package or i.imported.startswith(prefix)) and i.imported != i.importer
    ]


def cycles(imports: list[Import]) -> list[list[Import]]:
    """One closed loop of imports for every group of modules that import each other."""
    graph: dict[str, dict[str, Import]] = {}
    for i in imports:
        graph.setdefault(i.importer, {}).setdefault(i.imported, i)
    loops = []
    for group in _strongly_connected(graph):
        if len(group) > 1:
            loops.append(_loop_through(sorted(group)[0], group, graph))
    return loops


def _strongly_connected(graph) -> list[set[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on a big package)."""
    index, low, on_stack, stack, groups, counter = {}, {}, set(), [], [], [0]
    for start in list(graph):
        if start in index:
            continue
        work = [(start, iter(graph.get(start, {})))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph.get(child, {}))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _loop_through(start: str, group: set[str], graph) -> list[Import]:
    """A shortest path of imports from ``start`` back to itself, inside ``group``."""
    paths = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child, how in sorted(graph.get(node, {}).items()):
                if child == start:
                    return [*paths[node], how]
                if child in group and child not in paths:
                    paths[child] = [*paths[node], how]
                    following.append(child)
        frontier = following
    return []


@dataclass(frozen=True)
class Layer:
    """Modules (by dotted prefix) that may import their own layer and those below it."""

    name: str
    prefixes: tuple[str, ...]


def layer_of(module: str, layers: list[Layer]) -> int | None:
    """The index of the layer the longest matching prefix puts ``module`` in."""
    best, found = -1, None
    for number, layer in enumerate(layers):
        for prefix in layer.prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), number
    return found


def upward(imports: list[Import], layers: list[Layer]) -> list[Import]:
    """Imports from a lower layer (listed earlier) into a higher one."""
    return [
        i
        for i in imports
        if (low := layer_of(i.importer, layers)) is not None
        and (high := layer_of(i.imported, layers)) is not None
        and high > low
    ]


def unplaced(modules: Iterable[str], layers: list[Layer]) -> list[str]:
    """Modules no layer holds: a new module must be given its place."""
    return [m for m in modules if layer_of(m, layers) is None]


def forbidden(
    imports: list[Import], importers: Iterable[str], targets: Iterable[str]
) -> list[Import]:
    """Imports made by a module under one of ``importers`` of anything under ``targets``."""
    importers, targets = tuple(importers), tuple(targets)

    def under(module: str, prefixes) -> bool:
        return any(module == p or module.startswith(p + ".") for p in prefixes)

    return [i for i in imports if under(i.importer, importers) and under(i.imported, targets)]
