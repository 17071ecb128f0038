"""What an operator reads in the admin: why a source did not build, who holds a lock,
what a project build was made of; and no page ever shows a secret."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.admin.conftest import API_TOKEN, NOTIFICATION_SECRET, URL_PASSWORD


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def model_urls(model) -> list[str]:
    """The list, add, change and history pages of ``model`` (add only where it can be added)."""
    meta = model._meta
    base = f"admin:{meta.app_label}_{meta.model_name}"
    urls = [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        urls += [
            reverse(f"{base}_change", args=[first.pk]),
            reverse(f"{base}_history", args=[first.pk]),
        ]
    return urls


FILTER_LINK = re.compile(r'<a href="(\?[^"]*)"')
SEARCHES = ("git.example.com", "libbar", "https://***@git.example.com/broken.git", "r4")


def filtered_and_searched(client, listing: str) -> list[str]:
    """Every filter choice the list offers (read from its sidebar), and a few searches."""
    html = client.get(listing).content.decode()
    sidebar = html.split('id="changelist-filter"', 1)[1] if "changelist-filter" in html else ""
    queries = {unescape(q) for q in FILTER_LINK.findall(sidebar.split("</nav>", 1)[0])}
    queries |= {"?" + urlencode({"q": term}) for term in SEARCHES}
    return [listing + q for q in sorted(queries)]


def secret_pages(client, world, api_token: str) -> dict[str, str]:
    """Every page the scan reads, by URL: admin pages of every model, filtered lists and
    searches of ours, the release-lock confirmation, and both status documents."""
    pages = {}
    for model in admin.site._registry:
        for url in model_urls(model):
            response = client.get(url)
            assert response.status_code in (200, 403), (url, response.status_code)  # 403: no add
            pages[url] = response.content.decode()
        if model._meta.app_label == "capomastro_changes":
            for url in filtered_and_searched(client, model_urls(model)[0]):
                pages[url] = page(client, url)
    for listing, chosen in (("dependency", world.building.pk), ("source", world.fine.pk)):
        url = reverse(f"admin:capomastro_changes_{listing}_changelist")
        answer = client.post(url, {"action": "release_lock", "_selected_action": [chosen]})
        pages[f"{url} (release lock?)"] = answer.content.decode()
        assert "Release stuck build locks?" in pages[f"{url} (release lock?)"]
    bearer = {"Authorization": f"Bearer {api_token}"}
    for url in (
        reverse("capomastro_changes:source-status", args=[world.broken.pk]),
        reverse("capomastro_changes:source-status", args=[world.fine.pk]),
        reverse("capomastro_changes:project-status", args=[world.project_build.project_id]),
    ):
        pages[url] = client.get(url, headers=bearer).content.decode()
        assert '"dependencies"' in pages[url], url
    return pages


def test_no_page_shows_a_token_a_secret_or_a_password_in_a_url(admin_client, world, settings):
    api_token = "api-token-for-push-and-status-0f9e"
    settings.CAPOMASTRO_CHANGES_API_TOKENS = [api_token]
    secrets = {"Jenkins API token": API_TOKEN, "notification secret": NOTIFICATION_SECRET,
               "password in a source URL": URL_PASSWORD, "lock token": world.lock_token,
               "push/status API token": api_token}  # fmt: skip
    pages = secret_pages(admin_client, world, api_token)
    leaks = [(url, name) for url, html in pages.items() for name, s in secrets.items() if s in html]
    assert leaks == []
    # every model of ours, beat's and auth's, with data present; every filter; both endpoints
    assert len(pages) > 150
    assert any("https://***@git.example.com" in html for html in pages.values())


def test_the_jenkins_server_page_says_set_for_its_token_and_secret(admin_client, world):
    html = page(admin_client, reverse("admin:capomastro_changes_jenkinsserver_changelist"))
    assert html.count(">set<") == 2


def test_a_broken_source_shows_a_red_error_badge_with_its_error_on_hover(admin_client, world):
    html = page(admin_client, reverse("admin:capomastro_changes_source_changelist"))
    badge = re.search(r'<span class="cc-badge cc-error" title="([^"]*)"', html)
    assert badge and badge.group(1) == "connection refused by host"
    assert "https://***@git.example.com/broken.git" in html


def request_url(request) -> str:
    return reverse("admin:capomastro_changes_rebuildrequest_change", args=[request.pk])


def test_the_sources_list_shows_the_live_lock_holder_and_the_waiting_request(admin_client, world):
    html = page(admin_client, reverse("admin:capomastro_changes_source_changelist"))
    holder, waiter = world.holder, world.waiter
    assert f'held by <a href="{request_url(holder)}">request #{holder.pk}</a>' in html
    assert f'waiting: <a href="{request_url(waiter)}">request #{waiter.pk}</a>' in html
    assert 'libfoo: <span class="cc-lock cc-lock-free">free</span>' in html


def test_a_bzr_revision_shows_as_its_revno(admin_client, world):
    html = page(admin_client, reverse("admin:capomastro_changes_dependency_changelist"))
    assert '<code title="joe@example.com-20240101-abcdef">r42</code>' in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("source__state__last_outcome__exact=error", "libfoo", "libbar"),
        ("source__vcs__exact=bzr", "libbar", "libfoo"),
        ("busy_policy__exact=queue", "libbar", None),
        ("q=libbar", "libbar", "libfoo"),
        ("q=git.example.com/broken", "libfoo", "libbar"),
    ],
)
def test_dependencies_filter_by_outcome_vcs_policy_and_search_by_name_or_url(
    admin_client, world, query, shown, hidden
):
    html = page(
        admin_client, reverse("admin:capomastro_changes_dependency_changelist") + "?" + query
    )
    assert f">{shown}</a>" in html
    if hidden:
        assert f">{hidden}</a>" not in html


@pytest.mark.parametrize("model", ["source", "checkrecord", "dependency"])
def test_a_url_searched_with_its_password_is_shown_and_linked_without_it(
    admin_client, world, model
):
    typed = f"https://deploy:{URL_PASSWORD}@git.example.com/broken.git"
    url = reverse(f"admin:capomastro_changes_{model}_changelist")
    first = admin_client.get(url, {"q": typed})
    assert first.status_code == 302 and URL_PASSWORD not in first["Location"]
    html = admin_client.get(first["Location"]).content.decode()
    assert URL_PASSWORD not in html
    assert "broken.git" in html  # the same rows are found


def test_a_source_page_lists_its_checks_newest_first_and_links_the_full_history(
    admin_client, world
):
    html = page(
        admin_client, reverse("admin:capomastro_changes_source_change", args=[world.broken.pk])
    )
    outcomes = re.findall(
        r'class="cc-badge cc-(baseline|unchanged|error)"', html.split("Check history")[1]
    )
    assert outcomes[:3] == ["error", "unchanged", "baseline"]
    more = (
        reverse("admin:capomastro_changes_checkrecord_changelist")
        + f"?source__id__exact={world.broken.pk}"
    )
    assert "all 3 checks, newest first" in html and more in html
    history = page(admin_client, more)
    assert history.count('class="cc-badge cc-') == 3


def test_a_request_page_says_what_superseded_it(admin_client, world):
    url = reverse("admin:capomastro_changes_rebuildrequest_change", args=[world.superseded.pk])
    html = page(admin_client, url)
    assert f">#{world.waiter.pk}</a>" in html
    listing = page(admin_client, reverse("admin:capomastro_changes_rebuildrequest_changelist"))
    rows = re.findall(r"<tr>.*?</tr>", listing, re.S)
    (row,) = [r for r in rows if f">#{world.superseded.pk}</a>" in r]
    assert "cc-superseded" in row and f">#{world.waiter.pk}</a>" in row


def test_a_project_build_shows_each_dependency_rebuilt_or_linked_with_its_artifacts(
    admin_client, world
):
    url = reverse("admin:capomastro_changes_projectbuild_change", args=[world.project_build.pk])
    html = page(admin_client, url)
    rows = re.findall(r"<tr[^>]*class=\"form-row[^\"]*\".*?</tr>", html, re.S)
    assert len(rows) == 2
    (rebuilt,) = [r for r in rows if ">libbar<" in r]
    (linked,) = [r for r in rows if ">libfoo<" in r]
    assert ">rebuilt</span>" in rebuilt and "pkg-rebuilt.deb" in rebuilt
    assert ">linked</span>" not in rebuilt and "pkg-linked.deb" not in rebuilt
    assert ">linked</span>" in linked and "pkg-linked.deb" in linked
    assert ">rebuilt</span>" not in linked and "pkg-rebuilt.deb" not in linked
    listing = page(admin_client, reverse("admin:capomastro_changes_projectbuild_changelist"))
    assert "1 rebuilt, 1 linked" in listing


def test_the_beat_schedules_are_one_click_from_the_sources_list(admin_client, world):
    html = page(admin_client, reverse("admin:capomastro_changes_source_changelist"))
    links = re.findall(r'<a href="([^"]+)" class="cc-schedule"[^>]*>([^<]+)</a>', html)
    assert {label for _, label in links} >= {"check sweep", "reaper", "full rebuild (off)"}
    for url, _ in links:
        assert "Periodic task" in page(admin_client, url) or "periodic task" in page(
            admin_client, url
        )


def test_only_staff_reach_the_admin(client, django_user_model, world):
    url = reverse("admin:capomastro_changes_source_changelist")
    assert client.get(url).status_code == 302
    django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    client.login(username="visitor", password="pw-visitor-1")
    assert client.get(url).status_code == 302


@pytest.mark.parametrize(
    "pasted",
    [
        "https://git.example.com/broken.git",
        "https://git.example.com/broken/",
        "https://***@git.example.com/broken.git",  # as the list shows it
        "HTTPS://Git.Example.com:443/broken.git",
    ],
)
@pytest.mark.parametrize("listing", ["source", "dependency", "checkrecord"])
def test_a_url_pasted_as_written_finds_its_source(admin_client, world, listing, pasted):
    url = reverse(f"admin:capomastro_changes_{listing}_changelist")
    response = admin_client.get(url, {"q": pasted})
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    sources = {getattr(row, "source_id", row.pk) for row in found}
    assert sources == {world.broken.pk}, (listing, pasted, found)


def test_an_artifact_stored_with_a_javascript_url_is_shown_but_cannot_be_clicked(
    admin_client, world
):
    from capomastro_changes.models import Artifact

    Artifact.objects.create(build=world.rebuilt_build, filename="evil.deb", url="javascript:x()")
    for url in (
        reverse("admin:capomastro_changes_build_change", args=[world.rebuilt_build.pk]),
        reverse("admin:capomastro_changes_projectbuild_change", args=[world.project_build.pk]),
    ):
        html = page(admin_client, url)
        assert "evil.deb" in html and "javascript:" not in html
        assert 'href="http://a.example/r.deb"' in html  # the good one stays a link


def test_every_admin_of_the_app_breaks_long_cells_instead_of_scrolling():
    from django.contrib import admin

    ours = [a for m, a in admin.site._registry.items() if m._meta.app_label == "capomastro_changes"]
    assert len(ours) > 10
    missing = [type(a).__name__ for a in ours if "capomastro_changes/lists.css" not in str(a.media)]
    assert missing == []
