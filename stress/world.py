"""The chaos run's world: git and bzr sources, dependencies with mixed busy policies,
projects that share them, all built on one Jenkins stand-in.

Builds take a pseudo-random time (from the request id and build number), so
builds of different dependencies overlap and finish out of order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from capomastro_changes.models import Dependency, Job, Project, ProjectDependency, Source
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml
from capomastro_changes.testing.repos import BzrBranch, GitRepo, make_bzr, make_git
from capomastro_changes.testing.world import BUILD_PARAMETERS, build_jobtype, standin_server

# queue is the default and the policy that must never lose a change: most use it.
POLICIES = ("queue",) * 5 + ("supersede",) * 2 + ("discard", "fail")

# Tenths of a second, 0.5 to 4.4: "random" per build, reproducible from its ids.
RANDOM_DURATION_STEP = (
    "t=$(( (REQUEST_ID * 7 + BUILD_NUMBER * 13) % 40 + 5 ))\n"
    'echo "building $REVISION for $BUILD_ID: $REASON"\n'
    'sleep "$((t / 10)).$((t % 10))"\n'
    'echo "$REVISION" > revision.txt\n'
)


@dataclass
class SourceHandle:
    """One source of the world: its repository and the dependency built from it."""

    vcs: str
    dependency: Dependency
    git: GitRepo | None = None
    bzr: BzrBranch | None = None
    branch: str = "main"
    baseline: str = ""  # the revision before any change: nothing to build


@dataclass
class World:
    handles: list[SourceHandle]
    server_id: int


def jobtype_template() -> str:
    return freestyle_job_xml(
        RANDOM_DURATION_STEP,
        parameters=BUILD_PARAMETERS,
        artifacts="revision.txt",
        notify=["{{ notifications_url }}"],
    )


def make_world(root: Path, jenkins, count: int, rng: random.Random, secret: str) -> World:
    """``count`` sources (about two git for one bzr), a dependency each, five projects."""
    root.mkdir(parents=True, exist_ok=True)
    server = standin_server(jenkins, name="chaos stand-in", notification_secret=secret)
    jobtype = build_jobtype("chaos", config_xml=jobtype_template())
    handles = []
    for n in range(count):
        vcs = "bzr" if n % 3 == 2 else "git"
        name = f"dep{n:03d}"
        if vcs == "git":
            repo = make_git(root, name, commits=2)  # a force-push drops one
            source = Source.objects.for_location("git", repo.bare.as_uri(), "main")
            handle = SourceHandle("git", None, git=repo, baseline=repo.rev_parse("main"))
        else:
            branch = make_bzr(root / name, commits=1)
            source = Source.objects.for_location("bzr", branch.path.as_uri())
            handle = SourceHandle("bzr", None, bzr=branch, baseline=branch.revision_info()[1])
        job = Job.objects.create(server=server, jobtype=jobtype, name=name)
        handle.dependency = Dependency.objects.create(
            name=name, job=job, source=source, busy_policy=POLICIES[n % len(POLICIES)]
        )
        handles.append(handle)
    make_projects([h.dependency for h in handles], rng)
    return World(handles, server.pk)


def make_projects(deps: list[Dependency], rng: random.Random, projects: int = 5) -> None:
    """Projects of about a quarter of the dependencies each, overlapping."""
    size = max(2, len(deps) // 4)
    for n in range(projects):
        project = Project.objects.create(name=f"project-{n}", priority=n)
        for dep in rng.sample(deps, min(size, len(deps))):
            ProjectDependency.objects.create(project=project, dependency=dep)
