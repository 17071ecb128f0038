"""The admin shows which ephemera each build restored and persisted, with a download link
that only staff allowed to view ephemera can follow."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from capomastro_changes.builds.ephemera.storage import archive_storage
from capomastro_changes.models import (
    Build,
    Ephemeron,
    EphemeronUse,
    ProjectBuild,
    RebuildRequest,
)
from capomastro_changes.testing.factories import make_dependency, make_project
from tests.security.test_ephemera_tokens import drained

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-password-for-tests"


@pytest.fixture
def used(ephemera_storage):
    """Build #2 of libfoo restored the archive build #1 made."""
    dep = make_dependency(name="libfoo")
    first, second = (Build.objects.create(job=dep.job, number=n, status="SUCCESS") for n in (1, 2))
    made = RebuildRequest.objects.create(dependency=dep, revision="a", reason="change",
                                         state="succeeded", build=first)  # fmt: skip
    using = RebuildRequest.objects.create(dependency=dep, revision="b", reason="change",
                                          state="succeeded", build=second)  # fmt: skip
    stored = archive_storage().save("1/x.tar.gz", ContentFile(b"archive bytes"))
    archive = Ephemeron.objects.create(
        dependency=dep, name="cargo", key="c" * 64, state=Ephemeron.COMMITTED, paths=["cargo"],
        size=13, unpacked_size=40, sha256="5" * 64, made_by_request=made, made_by=first,
        storage_name=stored,
    )  # fmt: skip
    EphemeronUse.objects.create(ephemeron=archive, request=using, kind="restored", outcome="ok")
    project = make_project([dep])
    pb = ProjectBuild.objects.create(project=project, build_key="20261204.1", rebuild_request=using)
    return second, pb, archive


def staff(*permissions: str) -> Client:
    name = "clerk-" + "-".join(permissions)
    user = get_user_model().objects.create_user(name, password=PASSWORD, is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_a_builds_page_and_its_project_builds_page_show_the_set_it_restored(used, admin_client):
    build, pb, archive = used
    download = reverse("capomastro_changes:ephemera-archive", args=[archive.pk])
    for url in (reverse("admin:capomastro_changes_build_change", args=[build.pk]),
                reverse("admin:capomastro_changes_projectbuild_change", args=[pb.pk])):  # fmt: skip
        page = admin_client.get(url).content.decode()
        assert "ephemera restored cargo (key cccccccccccc…)" in page
        assert "sha256 " + "5" * 64 in page and f"made by {archive.made_by} at" in page
        assert f'href="{download}"' in page
    got = admin_client.get(download)
    assert got.status_code == 200 and drained(got) == b"archive bytes"


def test_staff_without_the_view_permission_on_ephemera_cannot_download(used):
    _, _, archive = used
    download = reverse("capomastro_changes:ephemera-archive", args=[archive.pk])
    assert staff("view_build").get(download).status_code == 403
    assert Client().get(download).status_code == 403
    allowed = staff("view_ephemeron").get(download)
    assert allowed.status_code == 200 and drained(allowed) == b"archive bytes"


def test_invalidating_from_the_admin_needs_the_change_permission(used):
    _, _, archive = used
    url = reverse("admin:capomastro_changes_ephemeron_changelist")
    form = {"action": "invalidate_archives", "_selected_action": [archive.pk]}
    staff("view_ephemeron").post(url, form)
    assert Ephemeron.objects.get(pk=archive.pk).state == Ephemeron.COMMITTED
    staff("view_ephemeron", "change_ephemeron").post(url, form)
    archive.refresh_from_db()
    assert archive.state == Ephemeron.INVALIDATED and not archive.storage_name


def test_the_status_json_carries_the_sets_a_project_build_used(used, settings, client):
    settings.CAPOMASTRO_CHANGES_API_TOKENS = ["status-token-" + "x" * 30]
    _, pb, archive = used
    url = reverse("capomastro_changes:project-status", args=[pb.project_id])
    document = client.get(url, HTTP_AUTHORIZATION="Bearer status-token-" + "x" * 30).json()
    (used_set,) = document["builds"][0]["ephemera"]
    assert used_set["kind"] == "restored" and used_set["outcome"] == "ok"
    assert (used_set["archive"], used_set["sha256"]) == (archive.pk, "5" * 64)
    assert used_set["made_by"].startswith(f"{archive.made_by} at ")
