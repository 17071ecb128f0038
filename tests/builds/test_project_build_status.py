"""A project build says SUCCESS only when every dependency it is made of has a build:
one whose dependency was never built (nothing to link to) is INCOMPLETE."""

import pytest

from capomastro_changes.builds.events import INCOMPLETE, settle
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Build, ProjectBuild, ProjectDependency, RebuildRequest
from capomastro_changes.rebuilds.trigger import create_project_builds
from capomastro_changes.testing.factories import make_dependency, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine(redis_client, key_prefix, settings):
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix


def built_request(dep) -> tuple[RebuildRequest, Build]:
    request = RebuildRequest.objects.create(dependency=dep, revision="r2", reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state="building", lock_token=grant.token, fence=grant.fence
    )
    request.refresh_from_db()
    create_project_builds(request)
    return request, Build.objects.create(job=dep.job, number=1, phase="FINALIZED")


@pytest.mark.parametrize(("other_built", "status"), [(False, INCOMPLETE), (True, "SUCCESS")])
def test_a_project_build_lacking_a_built_dependency_is_not_a_success(engine, other_built, status):
    changed, other = make_dependency(), make_dependency()
    project = make_project([changed, other])
    ProjectDependency.objects.filter(project=project).update(auto_track=True)
    if other_built:
        old = Build.objects.create(job=other.job, number=1, phase="FINALIZED", status="SUCCESS")
        ProjectDependency.objects.filter(dependency=other).update(current_build=old)
    request, build = built_request(changed)

    settle(request, build, "SUCCESS")

    assert ProjectBuild.objects.get(project=project).status == status
