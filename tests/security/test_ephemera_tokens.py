"""A build's ephemera token opens its own dependency's archives, only while it builds.

Tokens travel in the Authorization header only; a token in the query string,
an expired one, one whose build ended, and one of another dependency all get
403, and no refusal or log line ever holds a token.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from capomastro_changes.builds.ephemera.housekeeping import invalidate
from capomastro_changes.builds.ephemera.staging import settle_uploads
from capomastro_changes.models import (
    Build,
    EphemeraGrant,
    EphemeraPolicy,
    Ephemeron,
    RebuildRequest,
)
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db
KEY = "ab" * 32


def archive_bytes(text: bytes = b"cached") -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("cache/file")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return gzip.compress(raw.getvalue(), mtime=0)  # the same bytes whenever it is made


@pytest.fixture(autouse=True)
def storage_here(ephemera_storage):
    return ephemera_storage


def building(name: str, mode=EphemeraPolicy.PERSIST, max_size=1 << 20):
    """A dependency whose build is running, and that build's token."""
    dep = make_dependency(name=name)
    EphemeraPolicy.objects.create(dependency=dep, mode=mode, max_size=max_size)
    return (dep, *next_build(dep, "r1"))


def next_build(dep, revision: str = "r2"):
    """Another build of ``dep``, running, and its token."""
    request = RebuildRequest.objects.create(
        dependency=dep, revision=revision, reason="change", state="building"
    )
    return request, EphemeraGrant.mint(request, timedelta(hours=1))


def upload(client: Client, token: str, data: bytes, name="cache", key=KEY, **extra):
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_X_EPHEMERA_UNPACKED_SIZE": "6",
        "HTTP_X_EPHEMERA_SHA256": hashlib.sha256(data).hexdigest(),
        "HTTP_X_EPHEMERA_PATHS": json.dumps(["cache"]),
        **extra,
    }
    url = reverse("capomastro_changes:ephemera-set", args=[name]) + f"?key={key}"
    return client.post(url, data=data, content_type="application/gzip", **headers)


def find(client: Client, token: str, name="cache", **query):
    url = reverse("capomastro_changes:ephemera-set", args=[name])
    return client.get(url, {"key": KEY, **query}, HTTP_AUTHORIZATION=f"Bearer {token}")


def drained(response) -> bytes:
    """A streamed answer's bytes, read to the end (the test client then closes its file)."""
    return b"".join(response.streaming_content)


def committed(request, data=None) -> Ephemeron:
    """An archive of ``request``'s build, uploaded and committed by its SUCCESS."""
    client = Client()
    token = EphemeraGrant.mint(request, timedelta(hours=1))
    assert upload(client, token, data or archive_bytes()).status_code == 201
    build = Build.objects.create(job=request.dependency.job, number=request.pk, status="SUCCESS")
    settle_uploads(request, build, succeeded=True)
    return Ephemeron.objects.get(made_by=build)


def test_a_build_finds_and_downloads_its_own_dependencys_archive():
    dep, request, _ = building("mine")
    made = committed(request)
    later, later_token = next_build(dep)
    found = find(Client(), later_token)
    assert found.status_code == 200 and found.json()["id"] == made.pk
    url = reverse("capomastro_changes:ephemera-archive", args=[made.pk])
    got = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {later_token}")
    assert got.status_code == 200 and drained(got) == archive_bytes()


def test_a_build_of_one_dependency_can_neither_read_nor_overwrite_anothers(caplog):
    _, theirs, _ = building("theirs")
    their_archive = committed(theirs)
    _, _, my_token = building("mine")
    client = Client()
    url = reverse("capomastro_changes:ephemera-archive", args=[their_archive.pk])
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {my_token}").status_code == 403
    assert find(client, my_token).status_code == 404  # their set is not mine to see
    assert upload(client, my_token, archive_bytes(b"poison")).status_code == 201
    assert Ephemeron.objects.filter(dependency=theirs.dependency).count() == 1  # untouched
    their_token = EphemeraGrant.mint(theirs, timedelta(hours=1))
    assert find(client, their_token).json()["id"] == their_archive.pk
    assert my_token not in caplog.text and their_token not in caplog.text


@pytest.mark.parametrize("how", ["expired", "build over", "unknown", "in the query", "none"])
def test_a_token_that_is_not_live_and_in_the_header_gets_403(how, caplog):
    _, request, token = building("lib")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url = reverse("capomastro_changes:ephemera-set", args=["cache"]) + f"?key={KEY}"
    if how == "expired":
        EphemeraGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "build over":
        RebuildRequest.objects.filter(pk=request.pk).update(state="succeeded")
    elif how == "unknown":
        headers = {"HTTP_AUTHORIZATION": "Bearer " + "x" * 43}
    elif how == "in the query":
        headers, url = {}, url + f"&token={token}"
    else:
        headers = {}
    answer = Client().get(url, **headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "missing, expired or foreign ephemera token"}
    assert token not in caplog.text


def test_a_restore_only_dependency_keeps_nothing_and_a_too_large_upload_is_refused():
    _, _, reader = building("reader", mode=EphemeraPolicy.RESTORE)
    assert upload(Client(), reader, archive_bytes()).status_code == 403
    _, _, small = building("small", max_size=100)
    answer = upload(Client(), small, archive_bytes(), HTTP_X_EPHEMERA_UNPACKED_SIZE="5000")
    assert answer.status_code == 413 and "more than the 100" in answer.json()["error"]
    assert not Ephemeron.objects.exists()


def test_an_upload_that_is_not_what_the_builder_announced_is_not_kept():
    _, _, token = building("lib")
    wrong = upload(Client(), token, archive_bytes(), HTTP_X_EPHEMERA_SHA256="0" * 64)
    assert wrong.status_code == 400 and "SHA-256" in wrong.json()["error"]
    climbing = upload(Client(), token, archive_bytes(), HTTP_X_EPHEMERA_PATHS='["../etc"]')
    assert climbing.status_code == 400
    assert not Ephemeron.objects.exists()


def test_a_staged_upload_is_not_restorable_until_its_build_succeeds():
    dep, request, token = building("lib")
    assert upload(Client(), token, archive_bytes()).status_code == 201
    assert find(Client(), token).status_code == 404  # staged, not committed
    settle_uploads(request, None, succeeded=False)
    archive = Ephemeron.objects.get(dependency=dep)
    assert archive.state == Ephemeron.DISCARDED and not archive.storage_name


def test_another_keys_archive_is_restored_only_when_the_dependency_allows_fallback():
    dep, request, _ = building("lib")
    made = committed(request)
    later, token = next_build(dep)
    other_key = {"key": "cd" * 32, "fallback": "1"}
    assert find(Client(), token, **other_key).status_code == 404  # the policy says no
    EphemeraPolicy.objects.filter(dependency=dep).update(allow_fallback=True)
    found = find(Client(), token, **other_key)
    assert found.status_code == 200
    assert (found.json()["id"], found.json()["exact"]) == (made.pk, False)


def test_nothing_made_from_an_archive_invalidated_while_in_use_is_kept():
    dep, request, _ = building("lib")
    made = committed(request)
    later, token = next_build(dep)
    url = reverse("capomastro_changes:ephemera-archive", args=[made.pk])
    fetched = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert fetched.status_code == 200 and drained(fetched) == archive_bytes()
    assert upload(Client(), token, archive_bytes(b"from it")).status_code == 201  # staged first
    invalidate(Ephemeron.objects.filter(pk=made.pk), by="a test")
    again = upload(Client(), token, archive_bytes(b"again"))
    assert again.status_code == 409 and "since invalidated" in again.json()["error"]
    build = Build.objects.create(job=dep.job, number=99, status="SUCCESS")
    settle_uploads(later, build, succeeded=True)
    staged = Ephemeron.objects.get(made_by_request=later)
    assert staged.state == Ephemeron.DISCARDED and "invalidated" in staged.ended_why
    assert find(Client(), token).status_code == 404  # nothing of that set is restorable


@pytest.mark.parametrize(
    "body, paths, says",
    [
        (b"PK\x03\x04 not ours", ["cache"], "not a gzip-compressed archive"),
        (None, ["bygmester"], "bygmester is not the builds' to keep"),
        (None, [".ephemera-restore-x"], "is not the builds' to keep"),
    ],
)
def test_an_upload_of_other_bytes_or_of_the_branch_or_staging_is_refused(body, paths, says):
    _, _, token = building("lib")
    data = body or archive_bytes()
    answer = upload(Client(), token, data, HTTP_X_EPHEMERA_PATHS=json.dumps(paths))
    assert answer.status_code == 400 and says in answer.json()["error"]
    assert not Ephemeron.objects.exists()


def test_a_path_with_a_newline_cannot_write_a_log_line_of_its_own(caplog):
    forged = "a\n2026-12-04 05:09:25,000 INFO capomastro_changes: committed ephemera"
    url = reverse("capomastro_changes:ephemera-set", args=[forged])
    assert Client().get(url, {"key": KEY}, HTTP_AUTHORIZATION="Bearer x").status_code == 403
    assert caplog.records and all("\n" not in r.getMessage() for r in caplog.records)
    assert "a\\n2026-12-04" in caplog.text


def test_an_upload_replaced_by_a_later_one_of_the_same_build_keeps_no_file_or_link(admin_client):
    _, request, token = building("lib")
    assert upload(Client(), token, archive_bytes(b"first")).status_code == 201
    assert upload(Client(), token, archive_bytes(b"second")).status_code == 201
    first, second = Ephemeron.objects.order_by("pk")
    assert (first.state, first.storage_name) == (Ephemeron.DISCARDED, "")
    url = reverse("capomastro_changes:ephemera-archive", args=[first.pk])
    assert admin_client.get(url).status_code == 404  # not a 500 for a file that is gone
    assert second.state == Ephemeron.STAGED and second.storage_name
