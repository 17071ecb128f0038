"""The admin index opens on an overview a release engineer reads at a glance: what was
checked, changed and fails; what builds, waits and holds a lock; what is behind; the beat.
Each number links to the list that shows that many rows; a chart of the last day is SVG."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes.models import CheckRecord, RebuildRequest, SourceState
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


@pytest.fixture
def overview_world(redis_client, key_prefix, settings):
    """One failing source, one dependency behind, one build holding a lock, one waiting."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    failing, behind, building, waiting = (make_dependency() for _ in range(4))
    now = timezone.now()
    SourceState.objects.filter(pk=failing.source_id).update(
        last_outcome="error", last_error="unreachable", last_checked_at=now
    )
    SourceState.objects.filter(pk=behind.source_id).update(last_revision="b" * 40)
    behind.last_built_revision = "a" * 40
    behind.save()
    for dep, outcome in ((failing, "error"), (behind, "changed")):
        CheckRecord.objects.create(source_id=dep.source_id, outcome=outcome, duration_ms=1,
                                   started_at=now - timedelta(minutes=5))  # fmt: skip
    RebuildRequest.objects.create(dependency=building, revision="c", reason="change",
                                  state="building")  # fmt: skip
    RebuildRequest.objects.create(dependency=waiting, revision="d", reason="change",
                                  state="waiting", waiting_for="capacity")  # fmt: skip


def figures(html: str) -> dict[str, tuple[int, str]]:
    found = re.findall(r'data-label="([^"]+)" href="([^"]+)"[^>]*>(\d+)</a>', html)
    return {label: (int(n), href.replace("&amp;", "&")) for label, href, n in found}


def rows(html: str) -> int:
    """The rows of a changelist's result table (none: the table is not there)."""
    if 'id="result_list"' not in html:
        return 0
    body = html.split('id="result_list"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr")


def test_the_overview_counts_what_the_world_holds_and_links_to_those_rows(
    overview_world, admin_client
):
    html = admin_client.get("/admin/").content.decode()
    shown = figures(html)
    expected = {
        "failing now": 1, "behind their source": 1, "locks held": 1, "running": 1,
        "waiting for capacity": 1, "waiting for the lock": 0, "checks, last hour": 2,
        "changes found, last hour": 1,
    }  # fmt: skip
    assert {k: shown[k][0] for k in expected} == expected
    for label, (number, link) in shown.items():
        listed = admin_client.get(link)
        assert listed.status_code == 200, (label, link)
        assert rows(listed.content.decode()) == number, (label, link)


def test_the_chart_is_inline_svg_with_a_point_per_hour(overview_world, admin_client):
    html = admin_client.get("/admin/").content.decode()
    series = re.findall(r'<polyline class="cc-series" data-series="(\w+)" points="([^"]+)"', html)
    assert [name for name, _ in series] == ["checks", "changes", "builds"]
    assert all(len(points.split()) == 24 for _, points in series)
    assert "<script" not in html.split('id="cc-overview"')[1].split("</svg>")[0]
    labels = re.findall(r'<text class="cc-axis"[^>]*text-anchor="\w+">([^<]+)</text>', html)
    assert labels == ["-18 h", "-12 h", "-6 h", "now"]  # the time axis, newest on the right


def test_the_beat_and_its_last_sweep_are_shown(overview_world, admin_client):
    from capomastro_changes.detection.sweep import sweep

    html = admin_client.get("/admin/").content.decode()
    assert "none (no beat running)" in html and 'id="cc-last-sweep">never' in html
    sweep()
    html = admin_client.get("/admin/").content.decode()
    assert 'id="cc-last-sweep">never' not in html


def test_a_project_page_draws_its_dependencies_rebuilt_linked_and_chained(admin_client, world):
    from django.urls import reverse

    from capomastro_changes.models import ChainLink, Dependency, Project, ProjectDependency

    project = Project.objects.get(name="appliance")  # libbar rebuilt as #7, libfoo linked to #3
    newcomer = make_dependency(name="libnew")
    ProjectDependency.objects.create(project=project, dependency=newcomer)
    ChainLink.objects.create(upstream=Dependency.objects.get(name="libbar"), dependency=newcomer)
    html = admin_client.get(
        reverse("admin:capomastro_changes_project_change", args=[project.pk])
    ).content.decode()
    picture = html.split('<svg class="cc-project-picture"', 1)[1].split("</svg>", 1)[0]
    hows = dict(re.findall(r"<title>(\w+): (rebuilt|linked|not built yet)", picture))
    assert hows == {"libbar": "rebuilt", "libfoo": "linked", "libnew": "not built yet"}
    assert "rebuilt #7 c0ffeec0ffee" in picture and "linked #3 beefbeefbeef" in picture
    assert picture.count('class="cc-chain"') == 1
