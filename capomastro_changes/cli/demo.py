"""``capomastro-changes demo``: the whole flow on embedded defaults, narrated.

It starts the Jenkins stand-in, the site and a Celery worker with beat, makes
commits (a force-push and a busy dependency among them) and says, line by
line, what was detected, what was triggered and what was linked. Then it
leaves the admin running, or stops (``--no-serve``), and can write a summary.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from capomastro_changes.cli.demo_world import World, make_world
from capomastro_changes.cli.narration import Narrator, summary
from capomastro_changes.coordination.connection import redis_url
from capomastro_changes.models import RebuildRequest, Source
from capomastro_changes.site.runner import ADMIN_USER, ensure_admin
from capomastro_changes.site.services import serve_in_thread, start_worker, stop
from capomastro_changes.tasks import check_source
from capomastro_changes.testing.jenkins import JenkinsStandIn


def run_demo(host: str, port: int, serve: bool, json_file: str | None) -> int:
    data_dir = Path(settings.CAPOMASTRO_CHANGES_DATA_DIR)
    logging.getLogger("capomastro_changes").setLevel(logging.WARNING)  # the narration says it
    call_command("migrate", interactive=False, verbosity=0)
    password_file = ensure_admin(data_dir)
    web = serve_in_thread(host, port)
    site = f"http://{host}:{web.server_address[1]}"
    settings.CAPOMASTRO_CHANGES_PUBLIC_URL = site
    worker = None
    with JenkinsStandIn(quiet_period=0, executors=2, root=data_dir / "jenkins") as jenkins:
        try:
            worker = start_worker(
                redis_url(), log_file=data_dir / "worker.log",
                CAPOMASTRO_CHANGES_PUBLIC_URL=site, CAPOMASTRO_CHANGES_ALLOW_FILE_URLS="1",
            )  # fmt: skip
            narrator = Narrator()
            narrator.say(f"Jenkins stand-in at {jenkins.url}, admin at {site}/admin/")
            wait_for_worker(data_dir / "worker.log", worker)
            world = make_world(data_dir / "repos", jenkins)
            scenario(world, narrator)
            result = summary(jenkins, world)
            narrator.say(f"summary: {json.dumps(result)}")
            if json_file:
                Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
            if serve:
                print(f"admin at {site}/admin/ (log in as '{ADMIN_USER}', password in "
                      f"{password_file}); Ctrl-C stops", flush=True)  # fmt: skip
                wait_forever()
        finally:
            stop(worker)
            web.shutdown()
    return 0 if result["duplicate_builds"] == 0 and result["lost_changes"] == 0 else 1


def wait_for_worker(log: Path, worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in (log.read_text() if log.exists() else ""):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Celery worker did not start; see {log}")
        time.sleep(0.2)


def wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def check_all(narrator: Narrator, expect: int = 1) -> None:
    """Check every source now (as the sweep would) and narrate until the dust settles."""
    before = Counter(Source.objects.values_list("checks__source", flat=True))
    for source_id in Source.objects.values_list("pk", flat=True):
        check_source.delay(source_id)
    narrator.until(
        lambda: all(
            Source.objects.get(pk=pk).checks.count() >= before[pk] + expect
            for pk in Source.objects.values_list("pk", flat=True)
        )
    )
    narrator.settle()


def scenario(world: World, narrator: Narrator) -> None:
    narrator.step("First look at every source: a baseline is recorded, nothing is built")
    check_all(narrator)
    narrator.step("A commit to libfoo (git): one build, a project build for each project using it")
    world.libfoo_repo.commit(message="libfoo: fix a leak")
    check_all(narrator)
    narrator.step("A commit to libbar (bzr): revno goes up, libbar is rebuilt")
    world.libbar_branch.commit("libbar: new API")
    check_all(narrator)
    narrator.step("libfoo's main is force-pushed: history rewritten, said loudly, rebuilt")
    world.libfoo_repo.rewrite()
    check_all(narrator)
    narrator.step("Three commits to libfoo while it builds: one more build, of the newest")
    for n in range(3):
        world.libfoo_repo.commit(message=f"libfoo: busy change {n + 1}")
        check_source.delay(world.libfoo.source_id)
        if n == 0:  # the first change starts a build; the next ones arrive while it runs
            narrator.until(lambda: RebuildRequest.objects.filter(state="building").exists(), 30)
        time.sleep(0.3)
    narrator.settle()
    narrator.step("Nothing changed: every check says so, nothing is built")
    check_all(narrator)
