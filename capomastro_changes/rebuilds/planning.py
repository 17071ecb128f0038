"""What a rebuild of one dependency means for the projects that use it.

Pure functions on plain values: which projects get a project build, in which
order, and for each of them which dependency is rebuilt and which ones link to
their current build. Also the order of a chain of dependent rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One dependency of a project, as the planner sees it."""

    dependency_id: int
    current_build_id: int | None
    auto_track: bool = True


@dataclass(frozen=True)
class ProjectView:
    project_id: int
    priority: int
    members: tuple[Member, ...]


@dataclass(frozen=True)
class PlannedLink:
    """A dependency in a planned project build: rebuilt now, or linked to ``build_id``."""

    dependency_id: int
    build_id: int | None
    rebuilt: bool


@dataclass(frozen=True)
class PlannedProjectBuild:
    project_id: int
    links: tuple[PlannedLink, ...]


class CycleError(ValueError):
    """Chain links form a cycle; ``members`` lists it in order."""

    def __init__(self, members: list[int]):
        self.members = members
        super().__init__(f"chain links form a cycle through dependencies {members}")


def plan_rebuilds(dependency_id: int, projects: Iterable[ProjectView]) -> list[PlannedProjectBuild]:
    """One complete project build per project that auto-tracks ``dependency_id``.

    Highest priority first, then by project id. The rebuilt dependency's build
    is not known yet (None until Jenkins reports it); every other dependency
    links to its current build, so no project build has holes.
    """
    plans = []
    for project in sorted(projects, key=lambda p: (-p.priority, p.project_id)):
        tracked = [m for m in project.members if m.dependency_id == dependency_id]
        if not tracked or not tracked[0].auto_track:
            continue
        links = tuple(
            PlannedLink(
                m.dependency_id,
                None if m.dependency_id == dependency_id else m.current_build_id,
                m.dependency_id == dependency_id,
            )
            for m in sorted(project.members, key=lambda m: m.dependency_id)
        )
        plans.append(PlannedProjectBuild(project.project_id, links))
    return plans


def downstream_order(start: int, downstreams: Mapping[int, Iterable[int]]) -> list[int]:
    """Every dependency downstream of ``start``, each after all of its upstreams.

    ``downstreams`` maps a dependency to the ones rebuilt after it. Raises
    :class:`CycleError` rather than looping when the links form a cycle.
    """
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(node: int, path: list[int]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            raise CycleError(path[path.index(node) :] + [node])
        state[node] = "active"
        for nxt in sorted(downstreams.get(node, ())):
            visit(nxt, [*path, node])
        state[node] = "done"
        order.append(node)

    visit(start, [])
    order.reverse()
    return order[1:]  # ``start`` itself comes first and is already being rebuilt
