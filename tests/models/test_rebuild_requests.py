"""Rebuild requests: one active request per dependency and revision, whatever happens."""

import pytest
from django.db import IntegrityError, transaction

from capomastro_changes.models import RebuildRequest
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


def test_a_second_active_request_for_the_same_revision_is_refused_by_the_database():
    dep = make_dependency()
    RebuildRequest.objects.create(dependency=dep, revision="abc", reason="change")
    with pytest.raises(IntegrityError), transaction.atomic():
        RebuildRequest.objects.create(
            dependency=dep, revision="abc", reason="change", state="waiting"
        )
    assert RebuildRequest.objects.filter(dependency=dep).count() == 1


def test_a_finished_request_does_not_block_a_new_one_for_the_same_revision():
    dep = make_dependency()
    RebuildRequest.objects.create(dependency=dep, revision="abc", reason="change", state="failed")
    RebuildRequest.objects.create(dependency=dep, revision="abc", reason="manual")
    assert RebuildRequest.objects.filter(dependency=dep, state="pending").count() == 1


def test_other_dependencies_may_request_the_same_revision():
    source_dep = make_dependency()
    other = make_dependency(source=source_dep.source)
    RebuildRequest.objects.create(dependency=source_dep, revision="abc", reason="change")
    RebuildRequest.objects.create(dependency=other, revision="abc", reason="change")
    assert RebuildRequest.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [({"state": "sleeping"}, "known_state"), ({"reason": "whim"}, "known_reason")],
)
def test_unknown_states_and_reasons_are_refused_by_the_database(fields, constraint):
    dep = make_dependency()
    values = {"dependency": dep, "revision": "abc", "reason": "change"} | fields
    with pytest.raises(IntegrityError), transaction.atomic():
        RebuildRequest.objects.create(**values)
