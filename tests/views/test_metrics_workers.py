"""Metrics from every process: counters bumped in the prefork children of a real Celery
worker in multiprocess mode are summed in one scrape of the web endpoint: each child writes
a file of its own, and the scrape's totals are those files added up."""

import contextlib
import http.server
import os
import threading
import time
from collections import Counter

import pytest
import requests

from capomastro_changes.models import Dependency, Job, RebuildRequest, Source
from capomastro_changes.rebuilds.requests import request_rebuild
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until
from capomastro_changes.testing.repos import make_git
from capomastro_changes.testing.world import build_jobtype, standin_server
from tests.views.conftest import metric_values

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
P = "capomastro_changes_"


@pytest.fixture
def jenkins():
    with JenkinsStandIn(quiet_period=0, executors=4) as standin:
        yield standin


@pytest.fixture
def scrape_live(live_server, api_token):
    """Read the metrics endpoint over real HTTP, as Prometheus would."""

    def read() -> dict[tuple, float]:
        response = requests.get(
            f"{live_server.url}/changes/metrics/",
            headers={"Authorization": f"Bearer {api_token}"},
            timeout=10,
        )
        assert response.status_code == 200
        return metric_values(response.text)

    return read


def value(samples, name, **labels) -> float:
    return samples.get((P + name, tuple(sorted(labels.items()))), 0.0)


def dependency(server, name, policy="queue", seconds=0.0, source=None):
    job = Job.objects.create(server=server, jobtype=build_jobtype(name, seconds), name=name)
    return Dependency.objects.create(name=name, job=job, busy_policy=policy, source=source)


def settled(request):
    request.refresh_from_db()
    return request.state not in ("pending", "waiting", "triggering", "queued", "building")


def test_builds_and_lock_waits_of_all_worker_processes_show_in_one_scrape(
    jenkins, on_metrics_worker, metrics_dir, scrape_live
):
    before = scrape_live()
    server = standin_server(jenkins)
    quick = [dependency(server, f"pkg-{n}") for n in range(6)]
    busy = dependency(server, "libbusy", seconds=1.5)
    discarding = dependency(server, "libskip", policy="discard", seconds=1.5)
    requests_made = [request_rebuild(dep, "rev-1", "change") for dep in quick]
    first = [
        request_rebuild(busy, "rev-1", "change"),
        request_rebuild(discarding, "rev-1", "change"),
    ]
    wait_until(lambda: all(RebuildRequest.objects.get(pk=r.pk).state == "building" for r in first),
               timeout=30)  # fmt: skip
    requests_made += first + [
        request_rebuild(busy, "rev-2", "change"),  # waits for the lock, then runs
        request_rebuild(discarding, "rev-2", "change"),  # discarded
    ]
    wait_until(lambda: all(settled(r) for r in requests_made), timeout=60)
    after = scrape_live()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("builds_triggered_total") == len(jenkins.build_log()) == 9
    assert delta("lock_waits_total", policy="queue") == 1
    assert delta("builds_refused_total", reason="busy_discard") == 1
    worker_pids = {int(f.stem.rsplit("_", 1)[1]) for f in metrics_dir.glob("counter_*.db")}
    assert worker_pids and os.getpid() not in worker_pids


def test_checks_and_changes_seen_by_the_workers_show_in_one_scrape(
    tmp_path, jenkins, on_metrics_worker, scrape_live
):
    repo = make_git(tmp_path, commits=1)
    source = Source.objects.for_location("git", repo.bare.as_uri(), "main")
    dep = dependency(standin_server(jenkins), "libfoo", source=source)
    before = scrape_live()
    check_source.delay(source.pk)  # the first sight: a baseline
    wait_until(lambda: Dependency.objects.get(pk=dep.pk).last_built_revision, timeout=30)
    repo.commit(message="second")
    check_source.delay(source.pk)
    wait_until(lambda: RebuildRequest.objects.filter(dependency=dep, state="succeeded"), timeout=30)
    after = scrape_live()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("checks_total", outcome="baseline", vcs="git") == 1
    assert delta("checks_total", outcome="changed", vcs="git") == 1
    assert delta("changes_detected_total", vcs="git") == 1
    assert delta("probe_seconds_count", vcs="git") == 2
    assert delta("builds_triggered_total") == 1


@contextlib.contextmanager
def slow_http(delay: float):
    """An HTTP server that thinks for ``delay`` seconds, then has no repository (404):
    each check of a source on it keeps a worker child busy that long."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            time.sleep(delay)
            self.send_error(404)

        def log_message(self, *args):
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def checks_by_labels(families) -> Counter:
    """``checks_total`` samples of metric families, by their label pairs."""
    found = Counter()
    for family in families:
        for sample in family.samples:
            if sample.name == P + "checks_total":
                found[tuple(sorted(sample.labels.items()))] += sample.value
    return found


def test_every_worker_child_counts_in_a_file_of_its_own_and_the_scrape_adds_them_up(
    metrics_worker, on_metrics_worker, metrics_dir, scrape_live
):
    from prometheus_client.multiprocess import MultiProcessCollector

    from capomastro_changes.models import CheckRecord
    from capomastro_changes.testing.workers import pool_pids

    children = pool_pids(metrics_worker.pid)
    assert len(children) == 2
    with slow_http(delay=1.0) as base:
        sources = [
            Source.objects.for_location("git", f"{base}/slow-{n}.git", "main") for n in range(4)
        ]
        for source in sources:  # while one child probes (1 s), the next check goes to the other
            check_source.delay(source.pk)
        wait_until(lambda: CheckRecord.objects.filter(source__in=sources).count() == 4, timeout=60)
    files = {pid: metrics_dir / f"counter_{pid}.db" for pid in children}
    per_child = {pid: checks_by_labels(MultiProcessCollector.merge([str(path)]))
                 for pid, path in files.items() if path.exists()}  # fmt: skip
    assert set(per_child) == set(children)  # each child wrote counters of its own
    assert all(sum(counts.values()) > 0 for counts in per_child.values())
    every_file = [str(path) for path in metrics_dir.glob("counter_*.db")]
    in_files = checks_by_labels(MultiProcessCollector.merge(every_file))
    scraped = scrape_live()
    assert {k: v for (name, k), v in scraped.items() if name == P + "checks_total"} == in_files
    assert sum(in_files.values()) >= 4
