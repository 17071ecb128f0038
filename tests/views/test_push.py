"""The push endpoint: a hook names a repository, the matching sources become due now
(the sweep checks them), and the answer lists them; anything else schedules nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes.detection.push import BadPush, branch_matches, parse_push, push_key
from capomastro_changes.detection.sweep import due_sources
from capomastro_changes.models import CheckRecord, SourceState
from capomastro_changes.testing.factories import make_dependency, make_source

LATER = timedelta(hours=1)


@pytest.fixture
def source(db):
    """An enabled git source on ``main``, not due for an hour."""
    dep = make_dependency(source=make_source(url="https://git.example.com/team/libfoo.git"))
    SourceState.objects.filter(pk=dep.source_id).update(next_check_at=timezone.now() + LATER)
    return dep.source


def push(client, token, **params):
    return client.post("/changes/push/", params, headers={"Authorization": f"Bearer {token}"})


def scheduled_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [entry["source"] for entry in response.json()["scheduled"]]


def test_a_push_makes_the_matching_source_due_now_and_lists_it(client, api_token, source):
    response = push(client, api_token, url="https://git.example.com/team/libfoo.git")
    assert response.json() == {
        "scheduled": [{"source": source.pk, "vcs": "git", "url": source.url, "branch": "main"}]
    }
    assert due_sources(timezone.now(), 100) == [source.pk]


def test_the_request_only_schedules_the_sweep_does_the_check(client, api_token, source):
    push(client, api_token, url=source.url)
    assert not CheckRecord.objects.exists()
    state = SourceState.objects.get(pk=source.pk)
    assert state.last_checked_at is None and state.next_check_at <= timezone.now()


@pytest.mark.parametrize(
    "pushed",
    [
        "https://git.example.com/team/libfoo",
        "https://git.example.com/team/libfoo/",
        "https://git.example.com/team/libfoo.git/",
        "http://git.example.com/team/libfoo",
        "git://git.example.com/team/libfoo.git",
        "ssh://git@git.example.com/team/libfoo.git",
        "ssh://git@ssh.git.example.com:22/team/libfoo.git",
        "git@git.example.com:team/libfoo.git",
        "https://bot:hunter2@GIT.example.com:443/team/libfoo.git",
    ],
)
def test_a_push_names_the_repository_however_the_hook_spells_it(client, api_token, source, pushed):
    assert scheduled_ids(push(client, api_token, url=pushed)) == [source.pk]


@pytest.mark.parametrize(
    "pushed",
    [
        "https://git.example.com/team/libfoo-extra.git",
        "https://git.example.com/other/libfoo.git",
        "https://git.example.org/team/libfoo.git",
        "https://git.example.com/team/LIBFOO.git",
        "https://git.example.com:8443/team/libfoo.git",
    ],
)
def test_a_push_of_another_repository_schedules_nothing(client, api_token, source, pushed):
    assert scheduled_ids(push(client, api_token, url=pushed)) == []
    assert due_sources(timezone.now(), 100) == []


def test_an_unknown_url_is_an_empty_list_not_an_error(client, api_token, source):
    assert push(client, api_token, url="https://nowhere.example/x.git").json() == {"scheduled": []}


def test_branches_narrow_the_push_to_the_sources_on_them(client, api_token, source):
    url = source.url
    default = make_source(url=url, branch="")
    release = make_source(url=url, branch="release")
    for src in (default, release):
        make_dependency(source=src)
    SourceState.objects.update(next_check_at=timezone.now() + LATER)
    assert scheduled_ids(push(client, api_token, url=url, branches="refs/heads/release")) == [
        default.pk,  # the remote's default branch could be any: checked too
        release.pk,
    ]
    assert sorted(scheduled_ids(push(client, api_token, url=url, branches="main,release"))) == [
        source.pk, default.pk, release.pk,
    ]  # fmt: skip


def test_a_disabled_source_is_not_scheduled(client, api_token, source):
    source.dependencies.update(changes_enabled=False)
    SourceState.objects.filter(pk=source.pk).update(enabled=False)
    assert scheduled_ids(push(client, api_token, url=source.url)) == []


def test_the_revision_is_echoed_and_logged_and_the_password_is_not(client, api_token, caplog, db):
    secret = make_dependency(source=make_source(url="https://bot:hunter2@git.example.com/s.git"))
    response = push(
        client, api_token, url="https://bot:hunter2@git.example.com/s", sha1="0123abcd" * 5
    )
    assert response.json()["revision"] == "0123abcd" * 5
    [entry] = response.json()["scheduled"]
    assert entry["source"] == secret.source_id
    assert "hunter2" not in response.content.decode() and "hunter2" not in caplog.text
    assert "0123abcd" * 5 in caplog.text


def test_the_push_takes_query_strings_and_json_bodies_too(client, api_token, source):
    by_query = client.post(f"/changes/push/?url={source.url}&token={api_token}")
    by_json = client.post(
        "/changes/push/",
        {"url": source.url, "branches": ["main"]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert scheduled_ids(by_query) == scheduled_ids(by_json) == [source.pk]


def test_a_push_without_a_url_is_refused_clearly(client, api_token, source):
    response = push(client, api_token, branches="main")
    assert response.status_code == 400
    assert "url=" in response.json()["error"]
    assert due_sources(timezone.now(), 100) == []


def test_a_get_is_not_a_push(client, api_token, source):
    response = client.get(f"/changes/push/?url={source.url}&token={api_token}")
    assert response.status_code == 405


def test_push_keys_ignore_scheme_user_port_tail_and_an_ssh_host_prefix():
    assert {
        push_key(u)
        for u in (
            "https://example.com/a/b.git",
            "git@ssh.example.com:a/b",
            "ssh://git@example.com:22/a/b/",
            "git://example.com/a/b",
        )
    } == {"example.com/a/b"}
    assert push_key("file:///srv/git/a.git") == push_key("/srv/git/a") == "/srv/git/a"


def test_bad_pushes_are_named():
    for params in ({}, {"url": " "}, {"url": "x" * 501}, {"url": "https://h/r\nforged log"}):
        with pytest.raises(BadPush):
            parse_push(params)
    assert parse_push({"url": "h/r", "branches": " a, ,b ", "revision": "r1"}).branches == (
        "a", "b",
    )  # fmt: skip


def test_a_source_on_the_default_branch_matches_any_pushed_branch():
    assert branch_matches("", ("feature",))
    assert branch_matches("refs/heads/main", ("main",))
    assert not branch_matches("main", ("refs/heads/feature",))
