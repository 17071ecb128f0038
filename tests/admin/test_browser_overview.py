"""The overview and the lists in a real browser at 1,280 × 800: screenshots saved, the chart
drawn, and no page scrolls sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from capomastro_changes.models import CheckRecord, RebuildRequest
from capomastro_changes.testing.factories import make_dependency, make_source
from tests.admin.test_browser import PASSWORD, Operator, browser  # noqa: F401 (fixture)
from tests.admin.test_overview import overview_world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow]
WIDTH, HEIGHT = 1280, 800
LISTS = ("source", "dependency", "rebuildrequest", "checkrecord", "build", "projectbuild",
         "jenkinsserver", "project", "ephemeron", "ephemerapolicy")  # fmt: skip


@pytest.fixture
def narrow(browser, live_server, django_user_model, request):  # noqa: F811
    browser.set_window_size(WIDTH, HEIGHT)
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    person = Operator(browser, live_server.url, request.node.name)
    person.log_in("operator")
    return person


def sideways(person) -> int:
    """How far the page, or a list's table in its own scrolling box, scrolls sideways."""
    return person.driver.execute_script(
        "const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;"
        "const box = document.querySelector('#changelist .results');"
        "return Math.max(page, box ? box.scrollWidth - box.clientWidth : 0);"
    )


def test_the_overview_and_the_lists_fit_1280_pixels(narrow, world):
    # A deployment's URLs are long: a source as the demo's, deep in a file system.
    deep = "/srv/build/repositories/" + "/".join(["team-platform-libraries"] * 4)
    source = make_source(url=f"https://git.example.com{deep}/libwide.git")
    wide = make_dependency(name="libwith-a-long-name-for-the-lists", source=source)
    CheckRecord.objects.create(
        source=source, started_at=timezone.now(), duration_ms=1234.5, outcome="error",
        old_revision="ab" * 20, new_revision="cd" * 20, probe="script probe through Jenkins",
        error=f"could not read https://git.example.com{deep}/libwide.git: connection refused",
    )  # fmt: skip
    RebuildRequest.objects.create(
        dependency=wide, revision="ef" * 20, reason="change", state="succeeded",
        requested_by="capomastro-changes sweep", previous_revision="ab" * 20,
        detail=f"libwith-a-long-name-for-the-lists #1234: SUCCESS; built {'ef' * 20}",
    )  # fmt: skip
    narrow.open(reverse("admin:index"))
    assert narrow.find("#cc-overview svg.cc-chart")
    assert len(narrow.find_all("#cc-overview polyline.cc-series")) == 3
    assert narrow.shoot("overview").stat().st_size > 0
    too_wide = {}
    if sideways(narrow) > 0:
        too_wide["index"] = sideways(narrow)
    for name in LISTS:
        narrow.open(reverse(f"admin:capomastro_changes_{name}_changelist"))
        if name in ("source", "dependency", "projectbuild"):
            narrow.shoot(f"{name}-list")
        if sideways(narrow) > 0:
            too_wide[name] = sideways(narrow)
    assert too_wide == {}
    project = world.project_build.project
    narrow.open(reverse("admin:capomastro_changes_project_change", args=[project.pk]))
    assert len(narrow.find_all("svg.cc-project-picture g.cc-dep")) == 2
    assert narrow.shoot("project-picture").stat().st_size > 0
    assert sideways(narrow) == 0


def test_in_the_browser_each_overview_count_opens_a_list_of_that_many_rows(
    narrow,
    overview_world,  # noqa: F811 (the fixture imported above)
):
    narrow.open(reverse("admin:index"))
    counts = {
        a.get_attribute("data-label"): (int(a.text), a.get_attribute("href"))
        for a in narrow.find_all("#cc-overview a.cc-figure")
    }
    assert counts["failing now"][0] == 1 and counts["behind their source"][0] == 1
    assert counts["locks held"][0] == 1 and counts["waiting for capacity"][0] == 1
    points = [len(line.get_attribute("points").split())
              for line in narrow.find_all("#cc-overview polyline.cc-series")]  # fmt: skip
    assert points == [24, 24, 24]
    for label, (number, href) in counts.items():
        narrow.driver.get(href)
        rows = narrow.find_all("#result_list tbody tr") if number else []
        assert len(rows) == number, label
