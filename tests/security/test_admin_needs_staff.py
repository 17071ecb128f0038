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
