"""What one check of an unchanged source costs the database: a sweep of thousands of
sources is that many checks, so each statement saved is saved a thousand times."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capomastro_changes.detection.check import check_source
from capomastro_changes.models import Dependency, RebuildRequest
from capomastro_changes.testing import repos
from capomastro_changes.testing.factories import make_dependency, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def git_dependency(tmp_path, redis_client, key_prefix, settings):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file",)
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    repo = repos.make_git(tmp_path)
    dep = make_dependency(source=make_source("git", str(repo.bare)))
    assert check_source(dep.source_id).outcome == "baseline"
    return repo, dep


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements run, without transaction control (BEGIN, COMMIT, savepoints)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


def test_an_unchanged_check_reads_twice_and_writes_twice(git_dependency):
    _repo, dep = git_dependency
    with CaptureQueriesContext(connection) as queries:
        assert check_source(dep.source_id).outcome == "unchanged"
    done = statements(queries)
    assert [sql.split()[0] for sql in done] == ["SELECT", "SELECT", "INSERT", "UPDATE"], done


def test_a_dependency_left_behind_is_asked_for_again_by_an_unchanged_check(git_dependency):
    repo, dep = git_dependency
    # The last build of this revision never happened (the reaper gave up on it).
    Dependency.objects.filter(pk=dep.pk).update(last_built_revision="0" * 40)
    assert check_source(dep.source_id).outcome == "unchanged"
    asked = RebuildRequest.objects.get(dependency=dep)
    assert (asked.revision, asked.previous_revision) == (repo.rev_parse("main"), "0" * 40)
