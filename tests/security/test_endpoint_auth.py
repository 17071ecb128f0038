"""Every endpoint of the app refuses a request without its secret or token, or with a
wrong one, and compares what it was given in constant time."""

import hmac

import pytest
from django.urls import URLPattern, get_resolver, reverse

from capomastro_changes import urls as app_urls
from capomastro_changes.models import Build, RebuildRequest
from capomastro_changes.testing.factories import make_dependency, make_project, make_server

pytestmark = pytest.mark.django_db
TOKEN = "a-real-api-token-of-some-length-0123456789"
SECRET = "the-notification-secret-0123456789"


@pytest.fixture
def world(settings):
    settings.CAPOMASTRO_CHANGES_API_TOKENS = [TOKEN]
    server = make_server(notification_secret=SECRET)
    dep = make_dependency()
    project = make_project([dep])
    return {"server_id": server.pk, "source_id": dep.source_id, "project_id": project.pk,
            "name": "cache", "archive_id": 1}  # fmt: skip


def endpoints(world) -> list[tuple[str, str]]:
    """(method, URL) of every route the app declares: a new route is covered by default."""
    found = []
    for pattern in app_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        kwargs = {name: world[name] for name in pattern.pattern.converters}
        posted = ("jenkins-notification", "push", "ephemera-restored")
        method = "post" if pattern.name in posted else "get"
        found.append((method, reverse(f"capomastro_changes:{pattern.name}", kwargs=kwargs)))
    return found


def test_every_endpoint_is_covered_here(world):
    names = {p.name for p in app_urls.urlpatterns}
    assert names == {
        "jenkins-notification", "push", "source-status", "project-status", "metrics",
        "ephemera-root", "ephemera-set", "ephemera-archive", "ephemera-restored",
    }  # fmt: skip
    assert get_resolver().resolve("/changes/metrics/")


@pytest.mark.parametrize(
    "credentials",
    [{}, {"HTTP_AUTHORIZATION": "Bearer wrong-token"}, {"HTTP_AUTHORIZATION": "Bearer "}],
    ids=["none", "wrong", "empty"],
)
def test_every_endpoint_refuses_missing_or_wrong_credentials(client, world, credentials):
    for method, url in endpoints(world):
        target = url + ("?secret=wrong" if "notifications" in url and credentials else "")
        answer = getattr(client, method)(target, data={}, **credentials)
        assert answer.status_code in (401, 403), (method, url, answer.status_code)
        assert SECRET not in answer.content.decode() and TOKEN not in answer.content.decode()
    assert not Build.objects.exists() and not RebuildRequest.objects.exists()


def test_the_query_string_token_is_refused_where_only_a_header_is_allowed(client, world):
    answer = client.get(f"/changes/metrics/?token={TOKEN}")
    assert answer.status_code in (401, 403)


def test_secrets_and_tokens_are_compared_in_constant_time(client, world, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    url = reverse("capomastro_changes:jenkins-notification", args=[world["server_id"]])
    client.post(url + "?secret=nearly-" + SECRET, data=b"{}", content_type="application/json")
    assert calls, "the notification secret was not compared with hmac.compare_digest"
    calls.clear()
    client.get("/changes/metrics/", HTTP_AUTHORIZATION="Bearer nearly-" + TOKEN)
    assert calls, "the API token was not compared with hmac.compare_digest"
