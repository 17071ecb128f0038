"""What a build's notifications cost the database: every build we trigger sends four,
and the last one stands between a finished build and the next one's trigger."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from capomastro_changes.builds.events import record_event
from capomastro_changes.builds.notifications import FINALIZED, STARTED, BuildEvent
from capomastro_changes.models import Dependency, Job, RebuildRequest
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.world import build_jobtype, standin_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def statements_of(server, request, phase) -> list[str]:
    event = BuildEvent(
        job_name="libfoo", number=1, phase=phase, raw_phase=phase,
        status="SUCCESS" if phase == FINALIZED else None,
        parameters={"REQUEST_ID": str(request.pk), "REVISION": request.revision},
        queue_id=RebuildRequest.objects.get(pk=request.pk).jenkins_queue_id,  # as Jenkins says it
    )  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        record_event(server, event)
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(CONTROL)]


def test_a_finished_build_that_had_started_settles_in_a_dozen_statements(
    engine_settings, celery_worker_process
):
    with JenkinsStandIn(quiet_period=3600) as jenkins:  # accepted, never run: we play Jenkins
        server = standin_server(jenkins)
        job = Job.objects.create(name="libfoo", server=server, jobtype=build_jobtype("libfoo"))
        request = request_rebuild(Dependency.objects.create(name="libfoo", job=job), "r1", "change")
        wait_until(lambda: RebuildRequest.objects.get(pk=request.pk).state == "queued", 20)
        started = statements_of(server, request, STARTED)
        finished = statements_of(server, request, FINALIZED)
    request.refresh_from_db()
    assert (request.state, request.build.number) == ("succeeded", 1)
    assert len(started) <= 8, started
    # The build was linked on STARTED: the last phase does not link it again.
    relinks = ('SET "fence"', 'SET "build_id"')
    assert not [
        sql for sql in finished if sql.startswith("UPDATE") and any(r in sql for r in relinks)
    ]
    assert len(finished) <= 12, finished
