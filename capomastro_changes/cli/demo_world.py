"""The demo's world: sample repositories, a Jenkins stand-in and the rows that tie them.

Two sources (a git repository and a bzr branch), three dependencies and two
projects that share one of them, built on the Jenkins stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from capomastro_changes.models import Build, Dependency, Job, Project, ProjectDependency, Source
from capomastro_changes.testing.repos import BzrBranch, GitRepo, make_bzr, make_git
from capomastro_changes.testing.world import build_jobtype, standin_server

BUILD_SECONDS = 2


@dataclass
class World:
    """What the scenario changes and watches.

    ``baselines`` are the repositories' tips when the world was made: the
    summary compares the tips at the end with them, read from the
    repositories themselves, not from what the system recorded.
    """

    libfoo_repo: GitRepo
    libbar_branch: BzrBranch
    libfoo: Dependency
    libbar: Dependency
    libbaz: Dependency
    baselines: dict[str, str] = field(default_factory=dict)

    def tips(self) -> dict[str, str]:
        """Each tracked dependency's real tip now, by dependency name."""
        return {
            self.libfoo.name: self.libfoo_repo.rev_parse("main"),
            self.libbar.name: self.libbar_branch.revision_info()[1],
        }


def make_world(root: Path, jenkins) -> World:
    """Repositories under ``root``, and the database rows for them on ``jenkins``."""
    root.mkdir(parents=True, exist_ok=True)
    repo = make_git(root, "libfoo", commits=1)
    branch = make_bzr(root / "libbar", commits=1)
    server = standin_server(jenkins, name="jenkins (stand-in)")
    jobtype = build_jobtype("library", seconds=BUILD_SECONDS)
    libfoo = dependency(server, jobtype, "libfoo", Source.objects.for_location(
        "git", repo.bare.as_uri(), "main"))  # fmt: skip
    libbar = dependency(server, jobtype, "libbar", Source.objects.for_location(
        "bzr", branch.path.as_uri()))  # fmt: skip
    libbaz = dependency(server, jobtype, "libbaz", None)
    old = Build.objects.create(
        job=libbaz.job, number=7, phase="FINALIZED", status="SUCCESS",
        url=f"{jenkins.url}job/libbaz/7/", revision="(built by hand)",
    )  # fmt: skip
    desktop = Project.objects.create(name="desktop", priority=5)
    cloud = Project.objects.create(name="cloud")
    for project, deps in ((desktop, (libfoo, libbar)), (cloud, (libfoo, libbaz))):
        for dep in deps:
            ProjectDependency.objects.create(
                project=project, dependency=dep, current_build=old if dep is libbaz else None
            )
    world = World(repo, branch, libfoo, libbar, libbaz)
    world.baselines = world.tips()
    return world


def dependency(server, jobtype, name: str, source: Source | None) -> Dependency:
    job = Job.objects.create(server=server, jobtype=jobtype, name=name)
    return Dependency.objects.create(name=name, job=job, source=source, busy_policy="queue")
