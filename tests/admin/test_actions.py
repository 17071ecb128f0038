"""What an operator's buttons do: check now, rebuild now, release a stuck lock, enable and
disable; each through the same locks and requests as change detection."""

from __future__ import annotations

import pytest
import redis
from django.urls import reverse

from capomastro_changes.coordination.locks import DependencyLocks
from capomastro_changes.models import CheckRecord, Dependency, RebuildRequest, Source
from capomastro_changes.testing.factories import make_dependency, make_source
from capomastro_changes.testing.repos import make_git

SOURCES = reverse("admin:capomastro_changes_source_changelist")
DEPENDENCIES = reverse("admin:capomastro_changes_dependency_changelist")


def act(client, url: str, action: str, objects, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(url, data, follow=True)


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def levels(response) -> list[str]:
    return [m.level_tag for m in response.context["messages"]]


@pytest.fixture
def repo_source(tmp_path, settings, app_redis):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "https", "bzr")
    repo = make_git(tmp_path)
    source = make_source(url=f"file://{repo.bare}", branch="main")
    make_dependency(name="from-repo", source=source)
    return repo, source


def test_check_now_sends_the_check_to_the_workers_and_its_outcome_joins_the_history(
    admin_client, repo_source, eager_celery
):
    repo, source = repo_source
    response = act(admin_client, SOURCES, "check_now", [source])
    assert said(response) == [
        f"Check of {source} sent to the workers; each outcome joins the source's check "
        "history as soon as its check ends (a source being checked already is checked "
        "again by the next sweep)."
    ]
    record = CheckRecord.objects.get(source=source)
    assert (record.outcome, record.new_revision) == ("baseline", repo.rev_parse("main"))


def test_check_now_of_a_source_being_checked_has_the_next_sweep_read_it_again(
    admin_client, repo_source, eager_celery
):
    from django.utils import timezone

    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.detection.batch import check_batch
    from capomastro_changes.detection.sweep import due_sources

    repo, source = repo_source
    act(admin_client, SOURCES, "check_now", [source])  # the baseline
    new = repo.commit()
    token = keyspaces().checks.acquire(source.pk)  # a batch is reading it, from before the push
    try:
        act(admin_client, SOURCES, "check_now", [source])  # its own check is skipped
    finally:
        keyspaces().checks.release(source.pk, token)
    assert CheckRecord.objects.filter(source=source).count() == 1
    assert due_sources(timezone.now(), 10) == [source.pk]  # not in CHECK_INTERVAL: now
    assert check_batch(due_sources(timezone.now(), 10))["changed"] == 1  # the next sweep
    assert RebuildRequest.objects.get(dependency__source=source).revision == new


def test_check_now_answers_before_any_probe_runs(admin_client, repo_source, redis_url):
    """The page does not wait for probes: the check waits in the workers' queue."""
    from capomastro_changes.coordination.connection import broker_url
    from capomastro_changes.site.celery import app
    from capomastro_changes.testing.workers import forget_broker_connections, send_tasks_to

    _, source = repo_source
    queue = f"check-now-{source.pk}-{id(source)}"
    saved = {k: app.conf[k] for k in ("broker_url", "task_default_queue", "task_always_eager")}
    send_tasks_to(app, broker_url(redis_url), queue)
    try:
        response = act(admin_client, SOURCES, "check_now", [source])
    finally:
        app.conf.update(saved)
        forget_broker_connections(app)
    queued = redis.Redis.from_url(redis_url).lpop(queue)
    assert queued and b"capomastro_changes.check_source" in queued
    assert not CheckRecord.objects.filter(source=source).exists()
    assert levels(response) == ["info"]


def test_a_change_found_by_check_now_becomes_a_rebuild_request(
    admin_client, repo_source, eager_celery
):
    repo, source = repo_source
    act(admin_client, DEPENDENCIES, "check_now", Dependency.objects.filter(source=source))
    new = repo.commit()
    act(admin_client, DEPENDENCIES, "check_now", Dependency.objects.filter(source=source))
    assert CheckRecord.objects.filter(source=source).latest("pk").outcome == "changed"
    request = RebuildRequest.objects.get(dependency__source=source)
    assert (request.revision, request.reason) == (new, "change")


def test_check_now_of_an_unreachable_source_shows_the_error_in_its_history(
    admin_client, settings, app_redis, eager_celery
):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file",)
    source = make_source(url="file:///nonexistent/nowhere.git")
    make_dependency(source=source)
    act(admin_client, SOURCES, "check_now", [source])
    assert CheckRecord.objects.get(source=source).outcome in ("error", "missing")
    page = admin_client.get(
        reverse("admin:capomastro_changes_source_change", args=[source.pk])
    ).content.decode()
    assert "cc-badge cc-error" in page or "cc-badge cc-missing" in page


def test_check_now_with_the_broker_away_says_nothing_was_checked(
    admin_client, repo_source, settings
):
    from capomastro_changes.site.celery import app
    from capomastro_changes.testing.servers import refused_port
    from capomastro_changes.testing.workers import forget_broker_connections, send_tasks_to

    _, source = repo_source
    saved = {k: app.conf[k] for k in ("broker_url", "task_default_queue", "task_always_eager")}
    retry, app.conf.broker_connection_retry = app.conf.broker_connection_retry, False
    saved_policy = app.conf.task_publish_retry
    app.conf.task_publish_retry = False
    with refused_port() as port:
        send_tasks_to(app, f"redis://127.0.0.1:{port}/0", "nowhere")
        try:
            response = act(admin_client, SOURCES, "check_now", [source])
        finally:
            app.conf.update(saved, broker_connection_retry=retry, task_publish_retry=saved_policy)
            forget_broker_connections(app)
    assert levels(response) == ["error"]
    assert said(response)[0].startswith("Could not send the checks: the Celery broker")
    assert not CheckRecord.objects.exists()


def test_rebuild_now_is_a_manual_request_by_the_operator_once(admin_client, world):
    response = act(admin_client, DEPENDENCIES, "rebuild_now", [world.idle])
    request = RebuildRequest.objects.get(dependency=world.idle)
    assert (request.reason, request.requested_by) == ("manual", "admin")
    assert said(response) == [
        f"libfoo: rebuild at its current revision requested (request #{request.pk})."
    ]
    again = act(admin_client, DEPENDENCIES, "rebuild_now", [world.idle])
    assert said(again) == [
        f"libfoo: a rebuild at its current revision is already requested "
        f"(request #{request.pk}, pending); nothing new."
    ]


def test_rebuild_now_builds_the_last_revision_found(admin_client, world):
    act(admin_client, SOURCES, "rebuild_now", [world.fine])
    request = RebuildRequest.objects.get(dependency=world.building, reason="manual")
    assert (request.revision, request.revno) == ("joe@example.com-20240101-abcdef", 42)


def test_releasing_a_stuck_lock_asks_first_naming_the_holder_and_never_the_token(
    admin_client, world
):
    response = act(admin_client, DEPENDENCIES, "release_lock", [world.building, world.idle])
    html = response.content.decode()
    assert "Release stuck build locks?" in html
    assert f"request #{world.holder.pk}</a> (fence {world.holder.fence})" in html
    assert f"#{world.holder.pk}: change, building" in html
    assert world.lock_token not in html
    assert html.count('class="held-lock"') == 1  # libfoo holds nothing
    assert RebuildRequest.objects.get(pk=world.holder.pk).state == "building"


def test_a_confirmed_release_cancels_the_holder_and_the_waiting_request_takes_the_lock(
    admin_client, world, redis_client, key_prefix
):
    confirmed = {f"holder-{world.building.pk}": f"{world.holder.pk}:{world.holder.fence}"}
    response = act(
        admin_client, DEPENDENCIES, "release_lock", [world.building], post="yes", **confirmed
    )
    holder = RebuildRequest.objects.get(pk=world.holder.pk)
    assert (holder.state, holder.detail) == ("cancelled", "lock released by admin in the admin")
    lock = DependencyLocks(redis_client, prefix=key_prefix).inspect(world.building.pk)
    assert lock.holder.request == str(world.waiter.pk) and lock.waiter is None
    assert RebuildRequest.objects.get(pk=world.waiter.pk).state == "triggering"
    assert said(response) == [
        f"libbar: released the lock of request #{world.holder.pk} (fence {world.holder.fence}); "
        f"waiting request #{world.waiter.pk} took it."
    ]


def test_a_lock_that_changed_hands_since_the_confirmation_is_left_alone(
    admin_client, world, redis_client, key_prefix
):
    stale = {f"holder-{world.building.pk}": f"{world.holder.pk}:{world.holder.fence - 1}"}
    response = act(
        admin_client, DEPENDENCIES, "release_lock", [world.building], post="yes", **stale
    )
    assert "changed hands" in said(response)[0]
    lock = DependencyLocks(redis_client, prefix=key_prefix).inspect(world.building.pk)
    assert lock.holder.request == str(world.holder.pk)
    assert RebuildRequest.objects.get(pk=world.holder.pk).state == "building"


def test_disabling_a_source_stops_its_checks_and_enabling_brings_them_back(admin_client, world):
    act(admin_client, SOURCES, "disable", [world.broken])
    assert not Dependency.objects.get(pk=world.idle.pk).changes_enabled
    assert not Source.objects.get(pk=world.broken.pk).state.enabled
    html = admin_client.get(SOURCES + "?state__enabled__exact=0").content.decode()
    assert "broken.git" in html and "disabled" in html
    response = act(admin_client, DEPENDENCIES, "enable", [world.idle])
    assert Source.objects.get(pk=world.broken.pk).state.enabled
    assert said(response) == ["Change-based builds enabled for 1 dependencies."]


def test_saving_a_source_unchanged_keeps_the_password_it_never_showed(admin_client, world):
    url = reverse("admin:capomastro_changes_source_change", args=[world.broken.pk])
    form = admin_client.get(url).context["adminform"].form
    assert form.initial["url"] == "https://***@git.example.com/broken.git"
    data = {"vcs": "git", "url": form.initial["url"], "branch": "main"}
    assert admin_client.post(url, data).status_code == 302
    assert "hunter2-never-shown" in Source.objects.get(pk=world.broken.pk).url


def test_a_stuck_lock_is_released_from_the_sources_list_naming_its_holder_first(
    admin_client, world, redis_client, key_prefix
):
    response = act(admin_client, SOURCES, "release_lock", [world.fine, world.broken])
    html = response.content.decode()
    assert f"request #{world.holder.pk}</a> (fence {world.holder.fence})" in html
    assert html.count('class="held-lock"') == 1 and world.lock_token not in html
    for pk in (world.fine.pk, world.broken.pk):  # the sources selected, carried to the answer
        assert f'name="_selected_action" value="{pk}"' in html
    confirmed = {f"holder-{world.building.pk}": f"{world.holder.pk}:{world.holder.fence}"}
    done = act(admin_client, SOURCES, "release_lock", [world.fine, world.broken],
               post="yes", **confirmed)  # fmt: skip
    assert said(done) == [
        f"libbar: released the lock of request #{world.holder.pk} (fence {world.holder.fence}); "
        f"waiting request #{world.waiter.pk} took it."
    ]
    assert RebuildRequest.objects.get(pk=world.holder.pk).state == "cancelled"
