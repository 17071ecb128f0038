"""Revisions read the same everywhere: git as 12 hex characters, bzr as ``r<revno>``, and
never as a bzr revision-id's committer (``test@example → test@example``)."""

import pytest

from capomastro_changes.models import RebuildRequest
from capomastro_changes.rebuilds.requests import describe
from capomastro_changes.revisions import short_revision
from capomastro_changes.testing.factories import make_dependency

BZR_OLD = "test@example.com-20261202101010-0a1b2c3d4e5f6a7b"
BZR_NEW = "test@example.com-20261203101010-9f8e7d6c5b4a3b2c"
GIT = "0123456789abcdef0123456789abcdef01234567"


def test_short_revisions():
    assert short_revision(GIT) == "0123456789ab"
    assert short_revision(BZR_NEW, 42) == "r42"
    assert short_revision(BZR_NEW) == BZR_NEW[-12:] and "@" not in short_revision(BZR_NEW)
    assert short_revision("", empty="(none)") == "(none)"


@pytest.mark.django_db
def test_a_bzr_request_reads_as_revnos_not_as_its_committer():
    dep = make_dependency(name="libbar")
    request = RebuildRequest.objects.create(
        dependency=dep, revision=BZR_NEW, revno=42, previous_revision=BZR_OLD, reason="change"
    )
    said = describe(request) + " " + str(request)
    assert "test@example" not in said
    assert "→ r42, change" in describe(request) and "r42" in str(request)
