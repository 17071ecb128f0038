"""A Jenkins server's edit page says whether its API token and notification secret are set,
never what they are, and lets the operator clear one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from capomastro_changes.models import JenkinsServer
from capomastro_changes.testing.factories import make_server

TOKEN = "tok-server-page-never-shown"


def edit_url(server) -> str:
    return reverse("admin:capomastro_changes_jenkinsserver_change", args=[server.pk])


def posted(server, **changes) -> dict:
    data = {"name": server.name, "url": server.url, "username": server.username,
            "api_token": "", "notification_secret": "", "max_builds_in_flight": ""}  # fmt: skip
    return {**data, **changes}


@pytest.mark.django_db
def test_the_edit_page_says_set_or_not_set_and_never_shows_the_value(admin_client):
    server = make_server(api_token=TOKEN, notification_secret="")
    html = admin_client.get(edit_url(server)).content.decode()
    assert TOKEN not in html
    form = admin_client.get(edit_url(server)).context["adminform"].form
    assert form.fields["api_token"].help_text.startswith("Currently set.")
    assert form.fields["notification_secret"].help_text.startswith("Currently not set.")
    assert "Currently set." in html and "Currently not set." in html
    assert 'name="clear_api_token"' in html and 'name="clear_notification_secret"' in html


@pytest.mark.django_db
def test_a_blank_token_keeps_it_and_the_clear_box_empties_it(admin_client):
    server = make_server(api_token=TOKEN, notification_secret="kept-secret-1")
    assert admin_client.post(edit_url(server), posted(server)).status_code == 302
    server.refresh_from_db()
    assert (server.api_token, server.notification_secret) == (TOKEN, "kept-secret-1")
    answer = admin_client.post(edit_url(server), posted(server, clear_api_token="on"))
    assert answer.status_code == 302
    server.refresh_from_db()
    assert (server.api_token, server.notification_secret) == ("", "kept-secret-1")
    html = admin_client.get(edit_url(server)).content.decode()
    assert html.count("Currently not set.") == 1


@pytest.mark.django_db
def test_typing_a_new_secret_and_ticking_clear_is_refused(admin_client):
    server = make_server(notification_secret="old-secret-1")
    answer = admin_client.post(
        edit_url(server),
        posted(server, notification_secret="new-secret-2", clear_notification_secret="on"),
    )
    assert answer.status_code == 200
    assert "Type a new notification secret or clear it, not both." in answer.content.decode()
    assert "new-secret-2" not in answer.content.decode()
    assert JenkinsServer.objects.get(pk=server.pk).notification_secret == "old-secret-1"
