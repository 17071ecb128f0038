"""The sweep picks due sources with one indexed query; project builds cost the same
queries for 5 projects or 50; a second beat sends nothing; the schedules are in the admin."""

import datetime
import sqlite3

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from capomastro_changes.beat import GuardedScheduler
from capomastro_changes.detection.sweep import due_sources, sweep
from capomastro_changes.models import (
    Build,
    Project,
    ProjectBuild,
    ProjectDependency,
    RebuildRequest,
    SourceState,
)
from capomastro_changes.rebuilds.trigger import create_project_builds
from capomastro_changes.site.celery import app as celery_app
from capomastro_changes.testing.factories import make_dependency, make_source

pytestmark = pytest.mark.django_db


def test_only_enabled_due_sources_are_picked_highest_priority_first():
    early, late, off = (make_dependency(priority=p) for p in (1, 9, 5))
    now = timezone.now()
    off.changes_enabled = False
    off.save()
    future = make_dependency()
    SourceState.objects.filter(source=future.source).update(
        next_check_at=now + datetime.timedelta(hours=1)
    )
    assert due_sources(now, 10) == [late.source_id, early.source_id]


def test_the_due_query_is_served_by_the_partial_index():
    make_source()
    query = SourceState.objects.filter(enabled=True, next_check_at__lte=timezone.now())
    if connection.vendor == "postgresql":  # a tiny table: make the planner show its options
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
    plan = query.explain()
    assert "sourcestate_due" in plan


def test_make_due_brings_a_source_forward():
    dep = make_dependency()
    SourceState.objects.filter(source=dep.source).update(
        next_check_at=timezone.now() + datetime.timedelta(days=1)
    )
    assert SourceState.objects.make_due([dep.source_id]) == 1
    assert due_sources(timezone.now(), 10) == [dep.source_id]


def projects_using(dep, count, others=4):
    build = Build.objects.create(job=dep.job, number=1, status="SUCCESS", phase="FINALIZED")
    extra = [make_dependency() for _ in range(others)]
    for n in range(count):
        project = Project.objects.create(name=f"{dep.name}-p{n}")
        ProjectDependency.objects.create(project=project, dependency=dep)
        ProjectDependency.objects.bulk_create(
            ProjectDependency(project=project, dependency=d, current_build=build) for d in extra
        )


def queries_for_project_builds(count: int) -> int:
    dep = make_dependency()
    projects_using(dep, count)
    request = RebuildRequest.objects.create(dependency=dep, revision="abc", reason="change")
    with CaptureQueriesContext(connection) as queries:
        builds = create_project_builds(request)
    assert len(builds) == count == ProjectBuild.objects.filter(rebuild_request=request).count()
    return len(queries)


def test_project_builds_cost_a_fixed_number_of_queries_whatever_the_number_of_projects():
    ProjectBuild.allocate_keys(1)  # today's counter exists, as it does after the first build
    few, many = queries_for_project_builds(5), queries_for_project_builds(50)
    assert few == many <= 12


def test_a_bulk_insert_on_sqlite_is_split_only_at_the_librarys_own_parameter_limit():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's limit; PostgreSQL never splits these inserts")
    connection.ensure_connection()
    assert connection.features.max_query_params == connection.connection.getlimit(
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
    )
    ProjectBuild.allocate_keys(1)  # today's counter exists, as it does after the first build
    assert queries_for_project_builds(300) == queries_for_project_builds(3)  # 1,500 links


def test_the_sweep_reaper_housekeeping_and_full_rebuild_schedules_exist_full_rebuild_off():
    tasks = dict(
        PeriodicTask.objects.filter(name__startswith="capomastro-changes: ").values_list(
            "task", "enabled"
        )
    )
    assert tasks == {
        "capomastro_changes.sweep": True,
        "capomastro_changes.reap": True,
        "capomastro_changes.full_rebuild": False,
        "capomastro_changes.ephemera_housekeeping": True,
    }
    sweep = PeriodicTask.objects.get(task="capomastro_changes.sweep")
    assert sweep.interval.every == 1 and sweep.expire_seconds < 60
    hourly = PeriodicTask.objects.get(task="capomastro_changes.ephemera_housekeeping").interval
    assert (hourly.every, hourly.period) == (60, "minutes")


def test_a_second_beat_sends_nothing_while_the_first_holds_the_lease(
    redis_url, settings, key_prefix
):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    first = GuardedScheduler(app=celery_app, lazy=True)
    second = GuardedScheduler(app=celery_app, lazy=True)
    second._holder = "another-host:1"
    assert first._lease.acquire_leadership("beat", first._holder, 30)
    assert second.tick() == second.max_interval
    assert second._leader is False
    assert first._lease.leader("beat") == first._holder


def test_a_beat_that_lost_its_lease_stops_leading_instead_of_taking_it_back(
    redis_url, settings, key_prefix
):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    beat = GuardedScheduler(app=celery_app, lazy=True)
    assert beat.lead() and beat._leader
    beat._lease.client.delete(f"{key_prefix}leader:beat")  # it stalled past its lease
    assert beat.tick() == beat.max_interval  # it sends nothing this tick...
    assert beat._leader is False
    assert beat._lease.leader("beat") is None  # ...and does not quietly retake the lease
    assert beat.lead() and beat._leader  # it may stand again, as a newcomer
    assert beat._initial_read  # reading the schedule afresh before it sends anything


def test_a_push_during_a_check_makes_the_source_due_once_more():
    from capomastro_changes.detection.conclusion import conclude
    from capomastro_changes.detection.probing import source_ref
    from capomastro_changes.revisions import ProbeAnswer, Revision

    dep = make_dependency()
    state = SourceState.objects.get(source=dep.source)
    started = timezone.now()
    SourceState.objects.make_due([dep.source_id])  # a push arrives while the probe runs
    answer = ProbeAnswer(source_ref(dep.source), Revision("abc"), seconds=0.001)
    conclude(state, answer, "test", started)
    assert due_sources(timezone.now(), 10) == [dep.source_id]
    conclude(SourceState.objects.get(pk=dep.source_id), answer, "test", timezone.now())
    assert due_sources(timezone.now(), 10) == []  # and only once


def test_a_sweep_hands_out_at_most_its_limit_and_the_rest_stay_due(settings):
    settings.CAPOMASTRO_CHANGES_SWEEP_LIMIT = 2
    ids = [make_dependency(name=f"dep{n}").source_id for n in range(3)]
    SourceState.objects.filter(pk__in=ids).update(next_check_at=timezone.now())
    handed = sweep()
    assert len(handed) == 2
    assert due_sources(timezone.now(), 10) == sorted(set(ids) - set(handed))
