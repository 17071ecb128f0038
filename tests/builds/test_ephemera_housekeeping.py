"""Ephemera housekeeping: orphaned uploads go, old archives go, and the total stays under
its cap by ending the least recently restored first; files go with their rows."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes.builds.ephemera.housekeeping import expire
from capomastro_changes.builds.ephemera.storage import archive_storage
from capomastro_changes.models import Ephemeron, RebuildRequest
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db(transaction=True)  # files are deleted on commit


@pytest.fixture(autouse=True)
def storage_here(ephemera_storage):
    return ephemera_storage


def archive(dep, state, size=100, age_days=0, restored_days_ago=None, request_state="succeeded"):
    request = RebuildRequest.objects.create(
        dependency=dep, revision=f"r{Ephemeron.objects.count()}", reason="change",
        state=request_state,
    )  # fmt: skip
    name = archive_storage().save(f"{dep.pk}/a.tar.gz", io.BytesIO(b"x" * size))
    now = timezone.now()
    return Ephemeron.objects.create(
        dependency=dep, name="cache", key="k" * 64, state=state, paths=["cache"], size=size,
        unpacked_size=size, sha256="0" * 64, made_by_request=request, storage_name=name,
        committed_at=now - timedelta(days=age_days) if state == Ephemeron.COMMITTED else None,
        last_restored_at=(now - timedelta(days=restored_days_ago)
                          if restored_days_ago is not None else None),
    )  # fmt: skip


def test_housekeeping_ends_orphans_old_archives_and_the_least_recently_restored(settings):
    settings.CAPOMASTRO_CHANGES_EPHEMERA_TOTAL_BYTES = 250
    settings.CAPOMASTRO_CHANGES_EPHEMERA_MAX_AGE = 7 * 86400
    dep = make_dependency()
    orphan = archive(dep, Ephemeron.STAGED, request_state="failed")
    in_flight = archive(dep, Ephemeron.STAGED, request_state="building")
    old = archive(dep, Ephemeron.COMMITTED, age_days=8)
    cold = archive(dep, Ephemeron.COMMITTED, restored_days_ago=3)
    warm = archive(dep, Ephemeron.COMMITTED, restored_days_ago=0)
    files = {a.pk: archive_storage().path(a.storage_name) for a in (orphan, old, cold, warm)}

    assert expire() == {"orphans": 1, "expired": 1, "evicted": 1}
    states = dict(Ephemeron.objects.values_list("pk", "state"))
    assert states == {
        orphan.pk: "discarded", in_flight.pk: "staged", old.pk: "evicted",
        cold.pk: "evicted", warm.pk: "committed",
    }  # fmt: skip
    gone = [pk for pk, path in files.items() if not os.path.exists(path)]
    assert sorted(gone) == sorted([orphan.pk, old.pk, cold.pk])
    assert expire() == {"orphans": 0, "expired": 0, "evicted": 0}  # nothing left to do
