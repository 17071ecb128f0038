"""A Jenkins probe whose console holds a marked line the app must refuse (nested 5,000
deep, a revno beyond the database's column, a revision that looks like an option) ends
the check as an error that says why, moves no revision, and frees the check lock at once
(it used to crash the task and keep the lock for its whole TTL)."""

from __future__ import annotations

import pytest

from capomastro_changes.detection import check
from capomastro_changes.models import RebuildRequest, SourceState
from capomastro_changes.testing.world import standin_server
from tests.detection.test_jenkins_check import (  # noqa: F401 (fixtures)
    lock_is_free,
    make_source,
    run_scheduled,
    scheduled,
    standin,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("probe-nested", "the JSON nests deeper than 32 levels"),
        ("probe-revno-2-64", "'revno' must be an integer from 0 to 2147483647"),
        ("probe-dash", "a revision starting with '-'"),
    ],
)
def test_a_refused_probe_answer_is_a_clear_error_and_frees_the_lock(
    tmp_path,
    scheduled,  # noqa: F811 (the fixture imported above)
    standin,  # noqa: F811
    script,
    said,
):
    source, _ = make_source(tmp_path, standin_server(standin), script=script)
    SourceState.objects.filter(pk=source.pk).update(last_revision="a" * 40)

    assert check.check_source(source.pk) is None  # triggered on Jenkins
    record = run_scheduled(scheduled)

    assert record.outcome == "error" and said in record.error
    assert SourceState.objects.get(pk=source.pk).last_revision == "a" * 40
    assert not RebuildRequest.objects.exists()
    assert lock_is_free(source.pk)
