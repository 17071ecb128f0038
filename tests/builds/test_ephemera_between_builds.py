"""Ephemera end to end: the shipped build template on the Jenkins stand-in, a Celery
worker, the endpoints on a live server, and ``bygmester-ephemera`` on the builder.

Each build starts from a workspace whose cache the test wiped, as a pristine
LXC build would; what the build finds there came from the server or not at all.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib import resources
from pathlib import Path

import pytest
from jenkins import Jenkins

from capomastro_changes.builds.ephemera.housekeeping import invalidate
from capomastro_changes.builds.ephemera.storage import archive_storage
from capomastro_changes.models import (
    Dependency,
    EphemeraPolicy,
    Ephemeron,
    EphemeronUse,
    Job,
    JobType,
    RebuildRequest,
    Source,
)
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.bygmester import make_bygmester_branch, path_with_this_python
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.repos import make_git
from capomastro_changes.testing.world import standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BUILD = """#!/bin/sh -e
# build -- REVISION: uses cache/ when it is there, makes it when it is not
mkdir -p build
if [ -f cache/stamp ]; then cp cache/stamp build/restored-stamp; fi
if [ ! -f cache/stamp ]; then
    mkdir -p cache/deep
    echo "made for $2" > cache/stamp
    head -c 300000 /dev/urandom > cache/deep/blob
    ln -s ../stamp cache/deep/link
fi
if [ -f fail-after-persist ]; then
    bygmester-ephemera persist cache cache --key-file keys/lock.txt
    exit 1
fi
echo "$2" > build/revision.txt
"""
SETS = "# name, paths, key files\ncache cache --key-file keys/lock.txt\n"


@pytest.fixture
def builder(
    tmp_path, jenkins, engine_settings, celery_worker_process, monkeypatch, ephemera_storage
):
    """Dependency libfoo on a git repository, built by the shipped template with ephemera on."""
    monkeypatch.setenv("PATH", path_with_this_python())  # brz and bygmester-ephemera
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")  # no LXC here: run the build directly
    branch = make_bygmester_branch(tmp_path / "bygmester", {"build": BUILD, "ephemera": SETS})
    template = resources.files("bygmester_hooks").joinpath("templates", "build-job.xml")
    jobtype = JobType.objects.create(
        name="cached", config_xml=template.read_text(), bygmester_branch=str(branch)
    )
    repo = make_git(tmp_path, commits=1)
    dep = Dependency.objects.create(
        name="libfoo",
        job=Job.objects.create(server=standin_server(jenkins), jobtype=jobtype, name="libfoo"),
        source=Source.objects.for_location("git", repo.bare.as_uri(), "main"),
    )
    EphemeraPolicy.objects.create(dependency=dep, mode=EphemeraPolicy.PERSIST)
    workspace = jenkins.root / "workspace" / "libfoo"
    (workspace / "keys").mkdir(parents=True)
    (workspace / "keys" / "lock.txt").write_text("serde = 1.0.200\n")
    check_source.delay(dep.source_id)  # the baseline: nothing is built
    wait_until(lambda: Dependency.objects.get(pk=dep.pk).last_built_revision, timeout=30)
    return dep, repo, workspace


def build_once(dep, repo, workspace, jenkins) -> tuple[RebuildRequest, str]:
    """A new commit, a check, and the build it leads to, from a wiped cache."""
    shutil.rmtree(workspace / "cache", ignore_errors=True)
    shutil.rmtree(workspace / "build", ignore_errors=True)
    revision = repo.commit(message="change")
    check_source.delay(dep.source_id)
    request = wait_until(
        lambda: RebuildRequest.objects.filter(
            dependency=dep, revision=revision, state__in=("succeeded", "failed")
        ).first(),
        timeout=60,
    )
    number = request.build.number
    jenkins.wait_for_build("libfoo", number)
    return request, api(jenkins).get_build_console_output("libfoo", number)


def api(jenkins) -> Jenkins:
    """python-jenkins, logged in to the stand-in."""
    return Jenkins(jenkins.url, jenkins.username, jenkins.password, timeout=10)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_what_one_build_persists_the_next_restores_until_its_key_or_its_bytes_change(
    builder, jenkins
):
    dep, repo, workspace = builder
    first, console = build_once(dep, repo, workspace, jenkins)
    assert first.state == "succeeded", console
    assert "no ephemera for cache" in console and "staged cache" in console
    made = Ephemeron.objects.get(dependency=dep, state=Ephemeron.COMMITTED)
    assert made.made_by == first.build
    stamp, blob = (workspace / "cache/stamp").read_text(), digest(workspace / "cache/deep/blob")

    second, console = build_once(dep, repo, workspace, jenkins)
    assert second.state == "succeeded", console
    assert "restored cache" in console and f"made by {first.build}" in console
    assert (workspace / "build/restored-stamp").read_text() == stamp
    assert digest(workspace / "cache/deep/blob") == blob  # the same bytes came back
    assert (workspace / "cache/deep/link").read_text() == stamp  # the link, as it was
    use = EphemeronUse.objects.get(request=second, kind=EphemeronUse.RESTORED)
    assert (use.ephemeron_id, use.outcome) == (made.pk, "ok")
    described = wait_until(
        lambda: (
            "ephemera restored cache"
            in (api(jenkins).get_build_info("libfoo", second.build.number)["description"] or "")
            and api(jenkins).get_build_info("libfoo", second.build.number)["description"]
        ),
        timeout=30,
    )
    assert f"made by {first.build}" in described

    (workspace / "keys" / "lock.txt").write_text("serde = 1.0.201\n")  # a changed lock file
    third, console = build_once(dep, repo, workspace, jenkins)
    assert "no ephemera for cache" in console, console
    assert not (workspace / "build/restored-stamp").exists()

    kept = Ephemeron.objects.get(made_by=third.build, state=Ephemeron.COMMITTED)
    path = Path(archive_storage().path(kept.storage_name))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte flipped on the server's disk
    path.write_bytes(bytes(data))
    fourth, console = build_once(dep, repo, workspace, jenkins)
    assert fourth.state == "succeeded", console  # the build went on, from pristine
    assert "refused" in console and "SHA-256" in console
    assert not (workspace / "build/restored-stamp").exists()
    refused = EphemeronUse.objects.get(request=fourth, kind=EphemeronUse.RESTORED)
    assert refused.outcome == "refused" and "SHA-256" in refused.why

    newest = Ephemeron.objects.get(made_by=fourth.build, state=Ephemeron.COMMITTED)
    assert invalidate(Ephemeron.objects.filter(pk=newest.pk), by="a test") == 1
    fifth, console = build_once(dep, repo, workspace, jenkins)
    assert "no ephemera for cache" in console, console
    assert not (workspace / "build/restored-stamp").exists()


def test_a_failed_builds_upload_is_never_restored(builder, jenkins):
    dep, repo, workspace = builder
    (workspace / "fail-after-persist").write_text("")
    failed, console = build_once(dep, repo, workspace, jenkins)
    assert failed.state == "failed" and "staged cache" in console, console
    upload = Ephemeron.objects.get(dependency=dep)
    assert upload.state == Ephemeron.DISCARDED and upload.storage_name == ""
    assert not list(Path(archive_storage().path("")).rglob("*.tar.gz"))  # its file is gone
    (workspace / "fail-after-persist").unlink()
    after, console = build_once(dep, repo, workspace, jenkins)
    assert after.state == "succeeded" and "no ephemera for cache" in console, console
