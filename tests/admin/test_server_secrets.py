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


@pytest.mark.django_db
@pytest.mark.parametrize(
    "new_url",
    [
        "https://jenkins.evil.example/",
        "http://jenkins.example.com:8080/",
        "https://jenkins.example.com:8443/",
    ],
    ids=["host", "scheme and port", "port"],
)
def test_a_changed_address_clears_the_stored_credentials(admin_client, new_url):
    """Pointing a server at another host must not send it the token stored for the old one."""
    server = make_server(url="https://jenkins.example.com/", api_token=TOKEN,
                         notification_secret="secret-for-the-old-host")  # fmt: skip
    form = admin_client.get(edit_url(server)).context["adminform"].form
    assert "clears the stored API token and notification secret" in form.fields["url"].help_text
    answer = admin_client.post(edit_url(server), posted(server, url=new_url), follow=True)
    server.refresh_from_db()
    assert (server.url, server.api_token, server.notification_secret) == (new_url, "", "")
    assert "API token and notification secret were cleared" in answer.content.decode()


@pytest.mark.django_db
def test_credentials_typed_again_with_the_new_address_are_kept(admin_client):
    server = make_server(url="https://jenkins.example.com/", api_token=TOKEN)
    admin_client.post(edit_url(server), posted(server, url="https://ci.example.org/",
                                                api_token="new-token-for-ci-1"))  # fmt: skip
    server.refresh_from_db()
    assert (server.url, server.api_token) == ("https://ci.example.org/", "new-token-for-ci-1")
    assert server.notification_secret == ""


@pytest.mark.django_db
def test_a_path_change_on_the_same_host_keeps_the_credentials(admin_client):
    server = make_server(url="https://jenkins.example.com/", api_token=TOKEN)
    admin_client.post(edit_url(server), posted(server, url="https://JENKINS.example.com:443/ci/"))
    server.refresh_from_db()
    assert server.api_token == TOKEN
