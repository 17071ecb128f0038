"""Every token-guarded endpoint refuses a request without the right token, says why
when no token is configured, and never writes a token to the log."""

import logging

import pytest

from capomastro_changes.testing.factories import make_dependency, make_project
from capomastro_changes.views.tokens import token_matches

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoints(locks_here):
    """Each guarded endpoint as (method, path), for things that exist."""
    dep = make_dependency()
    project = make_project([dep])
    return [
        ("post", "/changes/push/?url=https://git.example.com/nothing.git"),
        ("get", f"/changes/status/sources/{dep.source_id}/"),
        ("get", f"/changes/status/projects/{project.pk}/"),
        ("get", "/changes/metrics/"),
    ]


def call(client, method, path, **headers):
    return getattr(client, method)(path, headers=headers)


def test_every_endpoint_answers_the_right_token(client, endpoints, auth):
    for method, path in endpoints:
        assert call(client, method, path, **auth).status_code == 200, path


def test_every_endpoint_refuses_a_request_without_a_token(client, endpoints, api_token):
    for method, path in endpoints:
        response = call(client, method, path)
        assert response.status_code == 403, path
        assert response.json() == {"error": "missing or wrong API token"}


def test_every_endpoint_refuses_a_wrong_token(client, endpoints, api_token):
    for method, path in endpoints:
        for wrong in (api_token[:-1], api_token + "x", api_token.upper(), "", " "):
            assert call(client, method, path, Authorization=f"Bearer {wrong}").status_code == 403


def test_with_no_token_configured_everything_is_refused_and_the_answer_says_so(
    client, endpoints, settings
):
    settings.CAPOMASTRO_CHANGES_API_TOKENS = []
    for method, path in endpoints:
        response = call(client, method, path, Authorization="Bearer anything")
        assert response.status_code == 403
        assert "no API token is configured" in response.json()["error"]


def test_any_of_several_tokens_is_accepted_so_tokens_can_be_rotated(client, endpoints, settings):
    settings.CAPOMASTRO_CHANGES_API_TOKENS = ["old-token-" + "a" * 20, "new-token-" + "b" * 20]
    for token in settings.CAPOMASTRO_CHANGES_API_TOKENS:
        response = client.get("/changes/metrics/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_only_the_push_endpoint_takes_the_token_in_the_query_string(client, endpoints, api_token):
    push = client.post(f"/changes/push/?url=https://git.example.com/x&token={api_token}")
    assert push.status_code == 200
    for method, path in endpoints[1:]:
        assert call(client, method, f"{path}?token={api_token}").status_code == 403, path


def test_refusals_log_the_path_but_never_the_token(client, endpoints, api_token, caplog):
    wrong = "wrong-token-that-must-not-be-logged"
    with caplog.at_level(logging.DEBUG):
        client.get("/changes/metrics/", headers={"Authorization": f"Bearer {wrong}"})
        client.post(f"/changes/push/?url=https://h/r&token={wrong}")
        client.get("/changes/metrics/", headers={"Authorization": f"Bearer {api_token}"})
    assert "/changes/metrics/ refused" in caplog.text
    assert wrong not in caplog.text and api_token not in caplog.text


def test_a_token_matches_only_itself_whatever_its_length():
    tokens = ["abc", "a-much-longer-token-value"]
    assert token_matches("abc", tokens) and token_matches("a-much-longer-token-value", tokens)
    assert not any(token_matches(t, tokens) for t in ("", "ab", "abcd", "ABC", "a-much"))
    assert not token_matches("abc", [])
