"""Small model factories for tests and demos: sensible defaults, every field overridable."""

from __future__ import annotations

import itertools

from capomastro_changes.models import (
    Dependency,
    JenkinsServer,
    Job,
    JobType,
    Project,
    ProjectDependency,
    Source,
)

_seq = itertools.count(1)

MINIMAL_CONFIG_XML = """<?xml version='1.1' encoding='UTF-8'?>
<project>
  <properties/>
  <builders>
    <hudson.tasks.Shell><command>echo building "$REVISION"</command></hudson.tasks.Shell>
  </builders>
  <publishers/>
</project>
"""


def make_server(**fields) -> JenkinsServer:
    n = next(_seq)
    fields.setdefault("name", f"jenkins-{n}")
    fields.setdefault("url", "http://127.0.0.1:9/")
    fields.setdefault("username", "builder")
    fields.setdefault("api_token", f"token-{n}-not-for-display")
    fields.setdefault("notification_secret", f"secret-{n}-not-for-display")
    return JenkinsServer.objects.create(**fields)


def make_jobtype(**fields) -> JobType:
    fields.setdefault("name", f"jobtype-{next(_seq)}")
    fields.setdefault("config_xml", MINIMAL_CONFIG_XML)
    return JobType.objects.create(**fields)


def make_job(**fields) -> Job:
    fields.setdefault("name", f"job-{next(_seq)}")
    if "server" not in fields:
        fields["server"] = make_server()
    if "jobtype" not in fields:
        fields["jobtype"] = make_jobtype()
    return Job.objects.create(**fields)


def make_source(vcs: str = "git", url: str | None = None, branch: str = "main") -> Source:
    url = url or f"https://git.example.com/repo-{next(_seq)}.git"
    return Source.objects.for_location(vcs, url, "" if vcs == "bzr" else branch)


def make_dependency(**fields) -> Dependency:
    fields.setdefault("name", f"dependency-{next(_seq)}")
    if "job" not in fields:
        fields["job"] = make_job()
    if "source" not in fields:
        fields["source"] = make_source()
    return Dependency.objects.create(**fields)


def make_project(dependencies=(), **fields) -> Project:
    fields.setdefault("name", f"project-{next(_seq)}")
    project = Project.objects.create(**fields)
    ProjectDependency.objects.bulk_create(
        ProjectDependency(project=project, dependency=dep) for dep in dependencies
    )
    return project
