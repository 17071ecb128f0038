"""Adopting a capomastro: its records become ours, row for row, and a re-run is a no-op."""

from __future__ import annotations

import hashlib
import json

import pytest
from capomastro_db import PASSWORDS, URL_TOKEN, change, make_capomastro
from django.core import serializers

from capomastro_changes import models as m
from capomastro_changes.cli.main import main

pytestmark = pytest.mark.django_db
OURS = (
    m.JenkinsServer, m.JobType, m.Job, m.Build, m.Artifact, m.Source, m.SourceState,
    m.Dependency, m.Project, m.ProjectDependency,
)  # fmt: skip


@pytest.fixture
def capomastro(tmp_path):
    return make_capomastro(tmp_path / "capomastro.db")


def adopt(path, *flags, capsys=None) -> dict:
    """Run the command in this process; its JSON report."""
    report = path.parent / "report.json"
    status = main(["import-capomastro", str(path), "--vcs-for", "generic=git", "--json",
                   str(report), *flags])  # fmt: skip
    assert status == 0
    return json.loads(report.read_text())


def everything_of_ours() -> str:
    return "".join(serializers.serialize("json", model.objects.order_by("pk")) for model in OURS)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_import_matches_capomastro_row_for_row(capomastro):
    report = adopt(capomastro)

    main_server = m.JenkinsServer.objects.get(url="http://jenkins.example:8080/")
    assert (main_server.name, main_server.username, main_server.api_token) == (
        "main", "builder", PASSWORDS[0])  # fmt: skip
    assert set(m.JobType.objects.values_list("name", flat=True)) == {
        "libs", "debs", "libs (capomastro #3)", "generic"}  # fmt: skip
    job = m.Job.objects.get(name="libs_1400000002")
    assert (job.server.name, job.jobtype.name) == ("lxc", "libs (capomastro #3)")

    libfoo = m.Dependency.objects.get(name="libfoo")
    assert (
        libfoo.parameters
        == "SOURCE_URL=https://git.example/libfoo.git\nSOURCE_BRANCH=main\nEXTRA=x"
    )
    assert (libfoo.source.vcs, libfoo.source.url, libfoo.source.branch) == (
        "git", "https://git.example/libfoo.git", "main")  # fmt: skip
    debs = m.Dependency.objects.get(name="foo-debs")
    assert (debs.source.vcs, debs.source.url) == (
        "bzr", "https://bazaar.launchpad.net/+branch/foo-debs")  # fmt: skip
    assert m.Dependency.objects.get(name="bar").source.vcs == "bzr"
    assert m.Dependency.objects.get(name="mystery").source.vcs == "git"  # --vcs-for generic=git
    assert not m.Dependency.objects.filter(name="orphan").exists()

    builds = m.Build.objects.filter(job__name="libs_1400000000")
    assert sorted(builds.values_list("number", flat=True)) == [1, 2]  # duplicate row: one build
    first = builds.get(number=1)
    assert (first.phase, first.status, first.duration, first.requested_by) == (
        "FINALIZED", "SUCCESS", 60000, "releng")  # fmt: skip
    assert first.parameters == {"SOURCE_URL": "https://git.example/libfoo.git",
                                "BUILD_ID": "20140501.1"}  # fmt: skip
    assert first.created_at.isoformat().startswith("2014-05-01T10:00:00")
    assert list(first.artifacts.values_list("filename", flat=True)) == ["libfoo.tar.gz"]

    links = {
        (pd.project.name, pd.dependency.name): (pd.auto_track, pd.current_build.number)
        for pd in m.ProjectDependency.objects.select_related("current_build")
    }
    assert links == {
        ("alpha", "libfoo"): (True, 2),
        ("beta", "libfoo"): (False, 1),  # pinned to the old build, as in capomastro
        ("alpha", "foo-debs"): (True, 1),
        ("beta", "bar"): (True, 1),
    }
    assert report["counts"]["builds"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert report["counts"]["artifacts"]["created"] == 2
    assert [d["dependency"] for d in report["needs_source"]] == ["noparams"]
    alone = {(x["kind"], x["what"]) for x in report["left_alone"]}
    assert ("dependency", "orphan") in alone
    assert ("build", "libs_1400000000 #2") in alone  # the duplicate row, said
    assert ("projects_projectbuild", "2 rows") in alone  # two projects sharing 20140501.1


def test_a_dry_run_prints_the_plan_and_writes_nothing(capomastro, capsys):
    before = everything_of_ours()
    report = adopt(capomastro, "--dry-run")
    assert everything_of_ours() == before
    assert report["dry_run"] and report["counts"]["dependencies"]["created"] == 6
    out = capsys.readouterr().out
    assert "plan (dry run: nothing written)" in out and "create dependency: libfoo" in out


def test_a_second_run_with_nothing_changed_changes_nothing(capomastro):
    adopt(capomastro)
    before = everything_of_ours()
    report = adopt(capomastro)
    assert everything_of_ours() == before  # not a row rewritten: updated_at too
    assert not report["plan"]
    assert all(c["created"] == c["updated"] == 0 for c in report["counts"].values())


def test_the_capomastro_file_is_byte_identical_after_every_run(capomastro):
    digest = sha256(capomastro)
    for flags in (("--dry-run",), (), ()):
        adopt(capomastro, *flags)
        assert sha256(capomastro) == digest


def test_a_rotated_password_and_a_new_current_build_are_picked_up(capomastro):
    adopt(capomastro)
    change(capomastro, "UPDATE jenkins_jenkinsserver SET password='rotated-Foxtrot' WHERE id=1")
    change(
        capomastro,
        "INSERT INTO jenkins_build VALUES (6, 1, '20140504.1', 3, 1, 'http://j/3/', 'FINISHED', "
        "'SUCCESS', NULL, '2014-05-04 10:00:00', NULL, NULL)",
    )
    change(capomastro, "UPDATE projects_projectdependency SET current_build_id=6 WHERE id=1")
    change(capomastro, "UPDATE projects_dependency SET parameters=? WHERE id=1",
           "SOURCE_URL=https://git.example/libfoo.git\nSOURCE_BRANCH=stable")  # fmt: skip

    report = adopt(capomastro)

    assert m.JenkinsServer.objects.get(name="main").api_token == "rotated-Foxtrot"
    link = m.ProjectDependency.objects.get(project__name="alpha", dependency__name="libfoo")
    assert link.current_build.number == 3
    assert m.Dependency.objects.get(name="libfoo").source.branch == "stable"
    assert "update server: main (api_token)" in report["plan"]
    assert "rotated-Foxtrot" not in json.dumps(report)


def test_nothing_moves_backwards_and_nothing_is_deleted(capomastro):
    adopt(capomastro)
    job = m.Job.objects.get(name="libs_1400000000")
    ours = m.Build.objects.create(job=job, number=9, phase="FINALIZED", status="SUCCESS")
    m.ProjectDependency.objects.filter(project__name="alpha", dependency__name="libfoo").update(
        current_build=ours
    )
    m.Build.objects.filter(job=job, number=2).update(phase="FINALIZED", status="FAILURE")
    change(capomastro, "DELETE FROM projects_projectdependency WHERE project_id=2")
    change(capomastro, "DELETE FROM projects_project WHERE id=2")

    report = adopt(capomastro)

    link = m.ProjectDependency.objects.get(project__name="alpha", dependency__name="libfoo")
    assert link.current_build == ours  # capomastro's #2 is older than the #9 we built
    assert m.Project.objects.filter(name="beta").exists()
    assert "project beta" in report["not_in_capomastro"]


def test_a_token_in_a_source_url_is_never_shown(capomastro, capsys):
    report = adopt(capomastro)
    out = capsys.readouterr()
    assert URL_TOKEN not in out.out + out.err + json.dumps(report)


def test_records_our_models_refuse_are_listed_and_never_stored(capomastro):
    change(capomastro, "UPDATE jenkins_jenkinsserver SET url='javascript:alert(1)//' WHERE id=2")
    change(capomastro, "UPDATE projects_dependency SET name=? WHERE id=5", "x" * 400)
    report = adopt(capomastro)

    assert not m.JenkinsServer.objects.filter(url__startswith="javascript").exists()
    assert not m.Job.objects.filter(name="libs_1400000002").exists()  # its server was refused
    assert not m.Dependency.objects.filter(name__startswith="xxx").exists()
    alone = {(x["kind"], x["what"][:20]): x["why"] for x in report["left_alone"]}
    assert "Enter a valid URL" in alone[("server", "lxc")]
    assert alone[("job", "libs_1400000002")] == "its server or job type was left alone"
    assert "at most 255 characters" in alone[("dependency", "x" * 20)]
    assert all(len(x["what"]) <= 120 for x in report["left_alone"])
    assert m.Dependency.objects.filter(name="libfoo").exists()  # the rest came across
