"""Every admin page of the app needs a staff account: anonymous visitors and ordinary
users are sent to the login page, and nothing of the app is shown to them."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


def app_admin_urls() -> list[str]:
    """The index, and the list, add and change pages of every model the app registers."""
    dep = make_dependency()
    objects = {"dependency": dep, "source": dep.source, "job": dep.job,
               "jenkinsserver": dep.job.server, "jobtype": dep.job.jobtype}  # fmt: skip
    urls = [reverse("admin:index"), reverse("admin:app_list", args=["capomastro_changes"])]
    for model in admin.site._registry:
        if model._meta.app_label != "capomastro_changes":
            continue
        name = model._meta.model_name
        urls.append(reverse(f"admin:capomastro_changes_{name}_changelist"))
        urls.append(reverse(f"admin:capomastro_changes_{name}_add"))
        if name in objects:
            urls.append(reverse(f"admin:capomastro_changes_{name}_change", args=[objects[name].pk]))
    return urls


@pytest.fixture
def ordinary_client(client):
    user = get_user_model().objects.create_user("visitor", password="not-staff-password-1")
    client.force_login(user)
    return client


def test_there_are_app_pages_to_guard():
    assert len(app_admin_urls()) > 10


@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_every_app_admin_page_sends_non_staff_to_the_login_page(client, ordinary_client, who):
    if who == "anonymous":
        client.logout()
    for url in app_admin_urls():
        answer = client.get(url)
        assert answer.status_code == 302, (url, answer.status_code)
        assert answer["Location"].startswith(reverse("admin:login")), url


def test_actions_cannot_be_posted_without_staff(client):
    url = reverse("admin:capomastro_changes_dependency_changelist")
    answer = client.post(url, {"action": "rebuild_now", "_selected_action": ["1"]})
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("admin:login"))


def test_staff_without_permissions_is_refused(client):
    user = get_user_model().objects.create_user("staff", password="staff-password-1", is_staff=True)
    client.force_login(user)
    answer = client.get(reverse("admin:capomastro_changes_jenkinsserver_changelist"))
    assert answer.status_code == 403


VIEW_ONLY = ("view_dependency", "view_source", "view_rebuildrequest", "view_checkrecord")
ACTIONS = ("check_now", "rebuild_now", "release_lock", "enable", "disable")


@pytest.fixture
def guarded(tmp_path, settings, redis_client, key_prefix, eager_celery):
    """A dependency on a real repository, its build lock held by a request."""
    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.models import RebuildRequest, Source
    from capomastro_changes.testing.repos import make_git

    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file",)
    repo = make_git(tmp_path, commits=1)
    dep = make_dependency(source=Source.objects.for_location("git", repo.bare.as_uri(), "main"))
    holder = RebuildRequest.objects.create(
        dependency=dep, revision="r1", reason="change", state="building"
    )
    grant = keyspaces().locks.acquire(dep.pk, holder.pk).grant
    RebuildRequest.objects.filter(pk=holder.pk).update(lock_token=grant.token, fence=grant.fence)
    holder.refresh_from_db()
    return dep, holder


def staff_with(client, *codenames):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        "viewer", password="viewer-password-1", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def what_moved(dep, holder) -> tuple:
    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.models import CheckRecord, Dependency, RebuildRequest

    lock = keyspaces().locks.inspect(dep.pk)
    return (
        CheckRecord.objects.count(),
        sorted(RebuildRequest.objects.values_list("pk", "state")),
        Dependency.objects.get(pk=dep.pk).changes_enabled,
        lock.holder.request if lock.holder else None,
    )


@pytest.mark.parametrize("listing", ["dependency", "source"])
@pytest.mark.parametrize("action", ACTIONS)
def test_staff_who_may_only_view_cannot_run_an_action(client, guarded, listing, action):
    from capomastro_changes.models import Dependency

    dep, holder = guarded
    Dependency.objects.filter(pk=dep.pk).update(changes_enabled=action != "enable")
    viewer = staff_with(client, *VIEW_ONLY)
    url = reverse(f"admin:capomastro_changes_{listing}_changelist")
    page = viewer.get(url).content.decode()
    assert dep.name in page
    assert f'value="{action}"' not in page  # the row is listed, the action not offered
    before = what_moved(dep, holder)
    pk = dep.pk if listing == "dependency" else dep.source_id
    confirmed = {"post": "yes", f"holder-{dep.pk}": f"{holder.pk}:{holder.fence}"}
    viewer.post(url, {"action": action, "index": 0, "_selected_action": [pk], **confirmed})
    assert what_moved(dep, holder) == before


def test_staff_allowed_to_change_dependencies_can_disable_them(client, guarded):
    from capomastro_changes.models import Dependency

    dep, _ = guarded
    editor = staff_with(client, *VIEW_ONLY, "change_dependency")
    url = reverse("admin:capomastro_changes_dependency_changelist")
    editor.post(url, {"action": "disable", "_selected_action": [dep.pk]})
    assert not Dependency.objects.get(pk=dep.pk).changes_enabled


def test_checking_now_needs_the_right_to_change_sources(client, guarded):
    from django.contrib.auth.models import Permission

    from capomastro_changes.models import CheckRecord

    dep, _ = guarded
    editor = staff_with(client, *VIEW_ONLY, "change_dependency")
    url = reverse("admin:capomastro_changes_dependency_changelist")
    assert 'value="check_now"' not in editor.get(url).content.decode()
    editor.post(url, {"action": "check_now", "_selected_action": [dep.pk]})
    assert not CheckRecord.objects.exists()
    user = get_user_model().objects.get(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="change_source"))
    editor.post(url, {"action": "check_now", "_selected_action": [dep.pk]})
    assert CheckRecord.objects.get().outcome == "baseline"
