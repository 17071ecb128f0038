"""A notification is a claim: it settles a request only for the build Jenkins gave it.

The notification secret sits in every job's config.xml, where any Jenkins user who
may read job configs finds it. So a FINALIZED for a build we never started, naming
a live request, must not settle that request or free its lock (a second build of
the dependency would then start beside the first); it is kept as an *unexpected*
build, shown in the admin, and moves nothing. What was built is the request's
revision, never what a notification says.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from capomastro_changes.builds.events import replay_held
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Build, Dependency, JenkinsServer, Job, RebuildRequest
from capomastro_changes.testing.world import build_jobtype

pytestmark = pytest.mark.django_db
SECRET = "notification-secret-for-forged-builds"
QUEUE_ID = 41


@pytest.fixture
def live(redis_client, key_prefix, settings):
    """A request Jenkins took as queue item 41, holding its dependency's lock."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    server = JenkinsServer.objects.create(name="forged", url="http://127.0.0.1:9/",
                                          notification_secret=SECRET)  # fmt: skip
    job = Job.objects.create(server=server, jobtype=build_jobtype("forged"), name="lib")
    dep = Dependency.objects.create(name="forged", job=job, last_built_revision="old")
    request = RebuildRequest.objects.create(dependency=dep, revision="new", reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state="queued", lock_token=grant.token, fence=grant.fence, jenkins_queue_id=QUEUE_ID
    )
    return request


def notify(request, phase: str, number: int, queue_id: int | None = QUEUE_ID, **build) -> dict:
    payload = {"name": "lib", "url": "job/lib/", "build": {
        "number": number, "phase": phase, "status": "SUCCESS" if phase == "FINALIZED" else None,
        "full_url": f"http://127.0.0.1:9/job/lib/{number}/",
        "parameters": {"REVISION": "new", "REQUEST_ID": str(request.pk)}, **build,
    }}  # fmt: skip
    if queue_id is not None:
        payload["build"]["queue_id"] = queue_id
    url = reverse(
        "capomastro_changes:jenkins-notification", args=[request.dependency.job.server_id]
    )
    answer = Client().post(f"{url}?secret={SECRET}", data=json.dumps(payload),
                           content_type="application/json")  # fmt: skip
    assert answer.status_code == 200, answer.content
    return answer.json()


def lock_holder(request) -> str | None:
    holder = keyspaces().locks.inspect(request.dependency_id).holder
    return holder.request if holder else None


def test_a_finalized_for_a_build_we_never_started_settles_nothing(live):
    notify(live, "STARTED", 1)
    live.refresh_from_db()
    assert (live.state, live.build.number) == ("building", 1)

    answer = notify(live, "FINALIZED", 7, queue_id=99)

    live.refresh_from_db()
    assert answer["unexpected"] is True
    assert (live.state, live.build.number) == ("building", 1)  # still the real build
    assert lock_holder(live) == str(live.pk)  # the lock stays with the running build
    assert Dependency.objects.get(pk=live.dependency_id).last_built_revision == "old"
    forged = Build.objects.get(job=live.dependency.job, number=7)
    assert forged.unexpected


def test_without_a_queue_id_a_claim_on_a_started_request_is_unexpected(live):
    notify(live, "STARTED", 1)
    answer = notify(live, "FINALIZED", 2, queue_id=None)
    live.refresh_from_db()
    assert answer["unexpected"] is True and live.state == "building"


def test_before_it_starts_only_the_build_from_its_queue_item_is_the_requests(live):
    assert notify(live, "FINALIZED", 3, queue_id=QUEUE_ID + 5)["unexpected"] is True
    assert notify(live, "FINALIZED", 4, queue_id=None)["unexpected"] is True
    live.refresh_from_db()
    assert live.state == "queued" and lock_holder(live) == str(live.pk)

    notify(live, "FINALIZED", 5)  # the build Jenkins gave it
    live.refresh_from_db()
    assert (live.state, live.build.number) == ("succeeded", 5)
    assert lock_holder(live) is None


def test_the_revision_built_is_the_requests_whatever_the_notification_says(live):
    notify(live, "STARTED", 1, parameters={"REVISION": "evil", "REQUEST_ID": str(live.pk)})
    notify(live, "FINALIZED", 1, parameters={"REVISION": "evil", "REQUEST_ID": str(live.pk)})
    live.refresh_from_db()
    assert live.state == "succeeded"
    assert Dependency.objects.get(pk=live.dependency_id).last_built_revision == "new"
    assert live.build.revision == "new"


def test_events_before_jenkins_named_the_queue_item_are_held_then_tied(live):
    RebuildRequest.objects.filter(pk=live.pk).update(state="triggering", jenkins_queue_id=None)
    answer = notify(live, "FINALIZED", 1)
    live.refresh_from_db()
    assert "unexpected" not in answer and live.state == "triggering"  # held, not refused

    RebuildRequest.objects.filter(pk=live.pk).update(state="queued", jenkins_queue_id=QUEUE_ID)
    replay_held(live.pk)
    live.refresh_from_db()
    assert (live.state, live.build.number) == ("succeeded", 1)


def test_the_admin_lists_unexpected_builds(live, admin_client):
    notify(live, "STARTED", 1)
    notify(live, "FINALIZED", 7, queue_id=99)
    url = reverse("admin:capomastro_changes_build_changelist")
    html = admin_client.get(url, {"unexpected__exact": "1"}).content.decode()
    assert "lib #7" in html and "lib #1" not in html


@pytest.mark.parametrize("state", ["pending", "waiting", "error", "refused"])
def test_a_claim_on_a_request_jenkins_never_took_moves_nothing(live, state):
    RebuildRequest.objects.filter(pk=live.pk).update(state=state, jenkins_queue_id=None)
    answer = notify(live, "FINALIZED", 9, queue_id=None)
    live.refresh_from_db()
    assert answer["unexpected"] is True
    assert (live.state, live.build_id) == (state, None)
    assert Dependency.objects.get(pk=live.dependency_id).last_built_revision == "old"
