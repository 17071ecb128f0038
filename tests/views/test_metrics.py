"""The metrics endpoint in one process: engine counters as they move, and gauges
counted in the database at scrape time."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from capomastro_changes import metrics
from capomastro_changes.coordination.locks import BusyPolicy
from capomastro_changes.models import RebuildRequest, SourceState
from capomastro_changes.rebuilds.dispatch import refuse_busy
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db
P = "capomastro_changes_"


def value(samples, name, **labels) -> float:
    return samples.get((P + name, tuple(sorted(labels.items()))), 0.0)


def test_the_page_is_in_the_prometheus_text_format_or_openmetrics_when_asked(client, auth):
    response = client.get("/changes/metrics/", headers=auth)
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert f"# TYPE {P}builds_in_flight gauge" in response.content.decode()
    openmetrics = client.get(
        "/changes/metrics/", headers={**auth, "Accept": "application/openmetrics-text"}
    )
    assert openmetrics["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.content.decode().endswith("# EOF\n")


def test_waiting_requests_and_builds_in_flight_are_counted_at_scrape_time(scrape, db):
    dep = make_dependency()
    for n, (state, waiting_for) in enumerate(
        [("waiting", "lock"), ("waiting", "lock"), ("waiting", "capacity"),
         ("building", ""), ("queued", ""), ("succeeded", "")]
    ):  # fmt: skip
        RebuildRequest.objects.create(
            dependency=dep, revision=f"r{n}", reason="change", state=state, waiting_for=waiting_for
        )
    SourceState.objects.update(next_check_at=timezone.now() - timedelta(seconds=1))
    samples = scrape()
    assert value(samples, "requests_waiting", waiting_for="lock") == 2
    assert value(samples, "requests_waiting", waiting_for="capacity") == 1
    assert [value(samples, "builds_in_flight", state=s) for s in ("triggering", "queued",
            "building")] == [0, 1, 1]  # fmt: skip
    assert samples[(P + "sources_due", ())] == 1


def test_a_check_counts_by_outcome_and_vcs_and_a_change_counts_as_detected(scrape):
    before = scrape()
    metrics.record_check("git", "changed", 0.2)
    metrics.record_check("git", "unchanged", 0.1)
    metrics.record_check("bzr", "rewritten", 3.0)
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("checks_total", outcome="changed", vcs="git") == 1
    assert delta("checks_total", outcome="unchanged", vcs="git") == 1
    assert (delta("changes_detected_total", vcs="git"), delta("changes_detected_total", vcs="bzr"))\
        == (1, 1)  # fmt: skip
    assert delta("probe_seconds_count", vcs="git") == 2
    assert delta("probe_seconds_bucket", vcs="bzr", le="5.0") == 1
    assert delta("probe_seconds_bucket", vcs="bzr", le="2.5") == 0


def test_a_request_refused_by_its_busy_policy_is_counted_with_its_reason(scrape, db):
    dep = make_dependency(busy_policy="fail")
    request = RebuildRequest.objects.create(dependency=dep, revision="r", reason="change")
    before = value(scrape(), "builds_refused_total", reason="busy_fail")
    refuse_busy(request, BusyPolicy.FAIL, None)
    assert value(scrape(), "builds_refused_total", reason="busy_fail") == before + 1


def test_a_failure_to_count_never_stops_the_work_and_is_logged_once(monkeypatch, caplog):
    def broken():
        raise OSError("no space left in the multiprocess directory")

    monkeypatch.setattr(metrics, "_metrics", broken)
    monkeypatch.setattr(metrics.record_build_triggered, "warned", False, raising=False)
    with caplog.at_level(logging.WARNING, logger="capomastro_changes.metrics"):
        metrics.record_build_triggered()
        metrics.record_build_triggered()
    assert caplog.text.count("metrics not recorded") == 1
    assert "no space left" in caplog.text
