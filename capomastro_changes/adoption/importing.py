"""Making capomastro's records ours: create what is missing, update what differs.

One transaction for the whole import. Records are found by capomastro's
natural keys; only fields capomastro owns are compared and only changed
fields are saved, so a second run with nothing changed rewrites no row.
Nothing moves backwards: a build we saw further along, or a current build
newer than capomastro's, stays as it is. Nothing is deleted.
"""

from __future__ import annotations

import logging
from datetime import UTC

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import URLField
from django.utils.dateparse import parse_datetime

from capomastro_changes import models as m
from capomastro_changes.adoption.report import SINGULAR, Report
from capomastro_changes.adoption.wanted import Wanted
from capomastro_changes.redaction import redact_text, redact_url

log = logging.getLogger(__name__)
PHASE_ORDER = {"QUEUED": 0, "STARTED": 1, "COMPLETED": 2, "FINALIZED": 3}
SECRET_FIELDS = {"api_token"}


def import_wanted(wanted: Wanted, dry_run: bool = False, ours_empty: bool = False) -> Report:
    """Apply (or, on a dry run, only plan) everything ``wanted`` asks for.

    ``ours_empty``: a dry run against a database not made yet plans every
    record as new, without touching (or creating) the database.
    """
    importer = _Importer(Report(dry_run=dry_run), ours_empty)
    if ours_empty:
        importer.run(wanted)
        return importer.report
    with transaction.atomic():
        importer.run(wanted)
        if dry_run:
            transaction.set_rollback(True)  # nothing is saved on a dry run; this makes sure
    return importer.report


class _Importer:
    def __init__(self, report: Report, ours_empty: bool = False) -> None:
        self.report = report
        self.empty = ours_empty
        self.dry_run = report.dry_run
        self.servers, self.jobtypes, self.jobs, self.builds = {}, {}, {}, {}
        self.dependencies, self.projects, self.sources = {}, {}, {}

    def run(self, w: Wanted) -> None:
        for server in w.servers:
            found = self.existing(m.JenkinsServer, url=server.url)
            self.servers[server.url] = self.sync(
                "servers", server.name, m.JenkinsServer, found,
                {"url": server.url},
                {"name": server.name, "username": server.username, "api_token": server.password},
            )  # fmt: skip
        for jobtype in w.jobtypes:
            self.jobtypes[jobtype.name] = self.sync(
                "job types", jobtype.name, m.JobType,
                self.existing(m.JobType, name=jobtype.name),
                {"name": jobtype.name},
                {"description": jobtype.description, "config_xml": jobtype.config_xml},
            )  # fmt: skip
        for job in w.jobs:
            server, jobtype = self.servers[job.server_url], self.jobtypes[job.jobtype]
            if server is None or jobtype is None:
                self.refused_parent("job", job.name, "its server or job type")
                self.jobs[(job.server_url, job.name)] = None
                continue
            found = self.existing(m.Job, server=server, name=job.name)
            self.jobs[(job.server_url, job.name)] = self.sync(
                "jobs", job.name, m.Job, found, {"server": server, "name": job.name},
                {"jobtype": jobtype},
            )  # fmt: skip
        for build in w.builds:
            self.builds[build.key] = self.build(build)
        for artifact in w.artifacts:
            build = self.builds[artifact.build]
            if build is None:
                continue  # its build was left alone, and said so
            found = self.existing(m.Artifact, build=build, filename=artifact.filename)
            self.sync(
                "artifacts", f"{build} {artifact.filename}", m.Artifact, found,
                {"build": build, "filename": artifact.filename}, {"url": artifact.url},
            )  # fmt: skip
        for dependency in w.dependencies:
            self.dependencies[dependency.name] = self.dependency(dependency)
        self.report.left_alone = list(w.left_alone) + self.report.left_alone
        for project in w.projects:
            self.projects[project.name] = self.sync(
                "projects", project.name, m.Project,
                self.existing(m.Project, name=project.name),
                {"name": project.name}, {"description": project.description},
            )  # fmt: skip
        for link in w.links:
            self.link(link)
        if not self.empty:
            self.report.not_in_capomastro = self.kept(w)

    def kept(self, w: Wanted) -> list[str]:
        """Our records capomastro does not have (any more): listed, never deleted."""
        out = [
            f"server {s.name}"
            for s in m.JenkinsServer.objects.exclude(url__in=[x.url for x in w.servers])
        ]
        out += [
            f"dependency {name}"
            for name in m.Dependency.objects.exclude(
                name__in=[d.name for d in w.dependencies]
            ).values_list("name", flat=True)
        ]
        out += [
            f"project {name}"
            for name in m.Project.objects.exclude(
                name__in=[p.name for p in w.projects]
            ).values_list("name", flat=True)
        ]
        return out

    def existing(self, model, **keys):
        """The row with these keys, or None; never a query through a parent not saved yet."""
        if self.empty or any(getattr(v, "pk", True) is None for v in keys.values()):
            return None
        return model.objects.filter(**keys).order_by("pk").first()

    def refused_parent(self, kind: str, label: str, parent: str) -> None:
        self.report.left_alone.append(
            {"kind": kind, "what": shorter(label), "why": f"{parent} was left alone"}
        )

    def refusal(self, obj) -> str | None:
        """Why ``obj`` may not be stored as it stands (a field our model refuses), or None.

        capomastro's database enforced less than ours (SQLite keeps a 400-character
        name in a 255-character column; nothing there checked a URL): such a
        record is listed, never stored.
        """
        relations = [f.name for f in obj._meta.fields if f.is_relation]
        try:
            obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            reasons = [
                f"{name}: {' '.join(e.message % (e.params or {}) for e in errors)}"
                for name, errors in exc.error_dict.items()
                if not _plain_web_address(obj, name, errors)
            ]
            return "; ".join(reasons) or None
        return None

    def sync(self, kind: str, label: str, model, found, keys: dict, owned: dict):
        """Create ``model`` or update its ``owned`` fields; say which in the report.

        Returns None, and lists the record as left alone, when our model refuses it.
        """
        if found is None:
            obj = model(**keys, **owned)
            if why := self.refusal(obj):
                self.report.left_alone.append(
                    {"kind": SINGULAR[kind], "what": shorter(label), "why": why}
                )
                return None
            if not self.dry_run:
                obj.save()
            self.report.note(kind, "created", shorter(label))
            return obj
        changed = [name for name, value in owned.items() if _value(found, name) != _value_of(value)]
        for name in changed:
            setattr(found, name, owned[name])
        if changed and (why := self.refusal(found)):
            if found.pk:
                found.refresh_from_db()
            self.report.left_alone.append(
                {"kind": SINGULAR[kind], "what": shorter(label), "why": why}
            )
            return found
        if changed and not self.dry_run:
            found.save(update_fields=changed)
        self.report.note(kind, "updated" if changed else "unchanged", shorter(label), changed)
        return found

    def build(self, build):
        job = self.jobs[(build.server_url, build.job)]
        if job is None:
            return None  # its job was left alone, and said so
        found = self.existing(m.Build, job=job, number=build.number)
        owned = {
            "phase": build.phase,
            "status": build.status,
            "duration": build.duration,
            "url": build.url,
            "parameters": build.parameters,
            "requested_by": build.requested_by[:100],
        }
        label = f"{build.job} #{build.number}"
        if found and PHASE_ORDER.get(found.phase, 0) > PHASE_ORDER.get(build.phase, 0):
            self.report.note("builds", "unchanged", label)  # we saw it further along
            return found
        obj = self.sync(
            "builds", label, m.Build, found, {"job": job, "number": build.number}, owned
        )
        when = _moment(build.created_at)
        if obj is not None and found is None and when and not self.dry_run:
            m.Build.objects.filter(pk=obj.pk).update(created_at=when)
        return obj

    def dependency(self, dep):
        if self.jobs[dep.job] is None:
            self.refused_parent("dependency", dep.name, "its job")
            return None
        source = self.source(dep) if dep.source else None
        if dep.source is None:
            self.report.needs_source.append(
                {"dependency": shorter(dep.name), "why": dep.needs_source}
            )
        owned = {
            "description": dep.description,
            "parameters": dep.parameters,
            "job": self.jobs[dep.job],
        }
        if source is not None:
            owned["source"] = source
        found = self.existing(m.Dependency, name=dep.name)
        return self.sync("dependencies", dep.name, m.Dependency, found, {"name": dep.name}, owned)

    def source(self, dep):
        at = dep.source
        candidate = m.Source(vcs=at.vcs, url=at.url, branch=at.branch)
        try:
            candidate.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            reasons = "; ".join(msg for msgs in exc.message_dict.values() for msg in msgs)
            why = f"{redact_url(at.url)} refused: {redact_text(reasons, known=[at.url])}"
            self.report.needs_source.append({"dependency": shorter(dep.name), "why": why})
            return None
        where = (at.vcs, candidate.url_key, candidate.branch_key)
        if where in self.sources:  # another dependency of this import shares it
            return self.sources[where]
        found = self.existing(
            m.Source, vcs=at.vcs, url_key=candidate.url_key, branch_key=candidate.branch_key
        )
        label = f"{redact_url(at.url)}{f' [{at.branch}]' if at.branch else ''} ({at.vcs}, {at.how})"
        self.sources[where] = self.sync(
            "sources", label, m.Source, found, {}, {} if found else _fields(candidate)
        )
        return self.sources[where]

    def link(self, link):
        project, dependency = self.projects[link.project], self.dependencies[link.dependency]
        if project is None or dependency is None:
            return  # left alone with its project or dependency, and said so
        found = self.existing(m.ProjectDependency, project=project, dependency=dependency)
        current = self.builds.get(link.current_build) if link.current_build else None
        if found and found.current_build_id and current is not None:
            ours = found.current_build
            if ours.job_id == current.job_id and ours.number > current.number:
                current = ours  # ours is newer: a current build never moves backwards
        owned = {"auto_track": link.auto_track, "current_build": current}
        self.sync(
            "project dependencies", f"{link.project} / {link.dependency}", m.ProjectDependency,
            found, {"project": project, "dependency": dependency}, owned,
        )  # fmt: skip


def _plain_web_address(obj, name: str, errors) -> bool:
    """An http(s) URL Django's validator finds odd (a one-word host such as
    ``http://jenkins:8080/``, usual inside a company) is kept; other schemes are not."""
    field = obj._meta.get_field(name)
    value = str(getattr(obj, name, "") or "").lower()
    return (
        isinstance(field, URLField)
        and value.startswith(("http://", "https://"))
        and all(e.code == "invalid" for e in errors)
    )


def shorter(label: str, most: int = 120) -> str:
    """A label as the report shows it: capomastro's values can be of any length."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _fields(source) -> dict:
    return {"vcs": source.vcs, "url": source.url, "branch": source.branch}


def _value(obj, name):
    field = obj._meta.get_field(name)
    return getattr(obj, field.attname) if field.is_relation else getattr(obj, name)


def _value_of(value):
    return value.pk if hasattr(value, "_meta") else value


def _moment(value):
    if value is None or hasattr(value, "tzinfo"):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed
