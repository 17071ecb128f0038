"""What capomastro's rows ask of us: records keyed by capomastro's natural keys.

Plain values only (no database of ours is read here), so the same rows always
want the same records: that is what makes an import re-runnable. Rows that
cannot become records are listed with the reason, never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from capomastro_changes.adoption.parameters import (
    build_parameters,
    dependency_parameters,
    parameter_lines,
)
from capomastro_changes.adoption.reader import LEFT_ALONE
from capomastro_changes.adoption.vcs_guess import guess

# capomastro called the last phase FINISHED until a migration renamed it FINALIZED.
PHASES = {"FINISHED": "FINALIZED"}


@dataclass(frozen=True)
class Options:
    """How to find a dependency's repository in its parameters."""

    url_parameter: str = "SOURCE_URL"
    branch_parameter: str = "SOURCE_BRANCH"
    vcs_for: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Server:
    url: str
    name: str
    username: str
    password: str  # becomes our API token; never shown


@dataclass(frozen=True)
class JobType:
    name: str
    description: str
    config_xml: str


@dataclass(frozen=True)
class Job:
    server_url: str
    name: str
    jobtype: str


@dataclass(frozen=True)
class Build:
    server_url: str
    job: str
    number: int
    phase: str
    status: str
    duration: int | None
    url: str
    parameters: dict
    requested_by: str
    created_at: datetime | str | None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.server_url, self.job, self.number)


@dataclass(frozen=True)
class Artifact:
    build: tuple[str, str, int]
    filename: str
    url: str


@dataclass(frozen=True)
class SourceAt:
    vcs: str
    url: str
    branch: str
    how: str


@dataclass(frozen=True)
class Dependency:
    name: str
    description: str
    parameters: str
    job: tuple[str, str]
    source: SourceAt | None
    needs_source: str  # why no source, when there is none


@dataclass(frozen=True)
class Project:
    name: str
    description: str


@dataclass(frozen=True)
class Link:
    project: str
    dependency: str
    auto_track: bool
    current_build: tuple[str, str, int] | None


@dataclass
class Wanted:
    servers: list[Server] = field(default_factory=list)
    jobtypes: list[JobType] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    builds: list[Build] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    left_alone: list[dict] = field(default_factory=list)

    def leave(self, kind: str, what: str, why: str) -> None:
        self.left_alone.append({"kind": kind, "what": what, "why": why})


def jobtype_names(rows: list[dict]) -> dict[int, str]:
    """Our name for each job type: capomastro's, told apart by id where names repeat.

    The oldest of a repeated name keeps it; the others become ``NAME (capomastro #ID)``.
    """
    seen = Counter(r["name"] for r in rows)
    names, taken = {}, set()
    for row in sorted(rows, key=lambda r: r["id"]):
        name = row["name"]
        if seen[name] > 1 and name in taken:
            name = f"{name} (capomastro #{row['id']})"
        taken.add(row["name"])
        names[row["id"]] = name
    return names


def wanted(data, options: Options) -> Wanted:
    """Every record capomastro's rows (a :class:`~.reader.Capomastro`) ask for."""
    out = Wanted()
    servers = {r["id"]: r for r in data.rows("jenkins_jenkinsserver")}
    for row in servers.values():
        out.servers.append(
            Server(row["url"], row["name"], row["username"] or "", row["password"] or "")
        )
    type_names = jobtype_names(data.rows("jenkins_jobtype"))
    types = {r["id"]: r for r in data.rows("jenkins_jobtype")}
    for row in types.values():
        out.jobtypes.append(
            JobType(type_names[row["id"]], row["description"] or "", row["config_xml"] or "")
        )
    jobs = {}
    for row in data.rows("jenkins_job"):
        server, jobtype = servers.get(row["server_id"]), types.get(row["jobtype_id"])
        if not server or not jobtype:
            out.leave("job", row["name"], "its server or job type is missing in capomastro")
            continue
        jobs[row["id"]] = (server["url"], row["name"])
        out.jobs.append(Job(server["url"], row["name"], type_names[jobtype["id"]]))
    builds = _builds(data, jobs, out)
    _artifacts(data, builds, out)
    dependencies = _dependencies(data, jobs, types, type_names, options, out)
    projects = {r["id"]: r["name"] for r in data.rows("projects_project")}
    for row in data.rows("projects_project"):
        out.projects.append(Project(row["name"], row["description"] or ""))
    _links(data, projects, dependencies, builds, out)
    for table, count in data.left_alone.items():
        if count:
            out.leave(table, f"{count} row{'s' if count != 1 else ''}", LEFT_ALONE[table])
    return out


def _builds(data, jobs, out: Wanted) -> dict[int, tuple]:
    """Builds by capomastro id → our key; a repeated (job, number) keeps its newest row."""
    by_key: dict[tuple, dict] = {}
    for row in data.rows("jenkins_build"):
        if row["job_id"] not in jobs or row["number"] is None:
            out.leave("build", str(row["id"]), "its job was not imported")
            continue
        key = (*jobs[row["job_id"]], int(row["number"]))
        if key in by_key:
            out.leave("build", f"{key[1]} #{key[2]}", "a second row for the same build number")
        by_key[key] = row
    keys = {}
    for key, row in by_key.items():
        out.builds.append(
            Build(
                server_url=key[0],
                job=key[1],
                number=key[2],
                phase=PHASES.get(row["phase"] or "", row["phase"] or "QUEUED"),
                status=row["status"] or "",
                duration=row["duration"] if (row["duration"] or 0) >= 0 else None,
                url=row["url"] or "",
                parameters=build_parameters(row["parameters"]),
                requested_by=data.usernames.get(row["requested_by_id"], ""),
                created_at=row["created_at"],
            )
        )
    for row in data.rows("jenkins_build"):
        if row["job_id"] in jobs and row["number"] is not None:
            keys[row["id"]] = (*jobs[row["job_id"]], int(row["number"]))
    return keys


def _artifacts(data, builds, out: Wanted) -> None:
    seen = set()
    for row in data.rows("jenkins_artifact"):
        build = builds.get(row["build_id"])
        if build is None:
            continue
        key = (build, row["filename"])
        if key in seen:  # capomastro re-imports left duplicate rows: one artifact here
            continue
        seen.add(key)
        out.artifacts.append(Artifact(build, row["filename"], row["url"] or ""))


def _dependencies(data, jobs, types, type_names, options, out: Wanted) -> dict[int, str]:
    kept = {}
    job_rows = {r["id"]: r for r in data.rows("jenkins_job")}
    for row in data.rows("projects_dependency"):
        if row["job_id"] not in jobs:
            out.leave("dependency", row["name"], "it has no job in capomastro (ours need one)")
            continue
        params = dependency_parameters(row["parameters"])
        jobtype = types[job_rows[row["job_id"]]["jobtype_id"]]
        source, why = _source(params, type_names[jobtype["id"]], jobtype, options)
        out.dependencies.append(
            Dependency(
                name=row["name"],
                description=row["description"] or "",
                parameters=parameter_lines(params),
                job=jobs[row["job_id"]],
                source=source,
                needs_source=why,
            )
        )
        kept[row["id"]] = row["name"]
    return kept


def _source(params, jobtype_name, jobtype, options: Options) -> tuple[SourceAt | None, str]:
    url = params.get(options.url_parameter, "")
    if not url:
        return None, f"no {options.url_parameter} parameter"
    found = guess(url, jobtype_name, options.vcs_for, jobtype["config_xml"])
    if found.vcs is None:
        return None, found.how
    branch = params.get(options.branch_parameter, "")
    return SourceAt(found.vcs, found.url, branch, found.how), ""


def _links(data, projects, dependencies, builds, out: Wanted) -> None:
    by_key = {}
    for row in data.rows("projects_projectdependency"):
        project, dependency = (
            projects.get(row["project_id"]),
            dependencies.get(row["dependency_id"]),
        )
        if project is None or dependency is None:
            continue  # the dependency was left alone, and said so
        if (project, dependency) in by_key:
            out.leave("project dependency", f"{project} / {dependency}", "a second row for it")
        by_key[(project, dependency)] = row
    for (project, dependency), row in by_key.items():
        out.links.append(
            Link(project, dependency, bool(row["auto_track"]), builds.get(row["current_build_id"]))
        )
