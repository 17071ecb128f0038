"""Jenkins answers that go wrong: 5xx, 404, 401, a 303 duplicate, HTML instead of JSON,
a connection dropped mid-answer, no answer at all, a Jenkins still starting.

Triggers go through the real path (``trigger.trigger`` holding the lock):
the request must end as an error that says why, the lock free and the
dependency's last built revision where it was. Reads go through the client.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from pathlib import Path

from django.test import override_settings

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.jenkins.client import JenkinsError, client_for
from capomastro_changes.models import Dependency, JenkinsServer, Job, RebuildRequest
from capomastro_changes.rebuilds import trigger
from capomastro_changes.testing import servers
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.world import build_jobtype
from stress.corpus.case import Case, mark

TOKEN = "jenkins-token-for-the-corpus-0001"


def server_row(url: str, token: str = TOKEN) -> JenkinsServer:
    n = JenkinsServer.objects.count()
    return JenkinsServer.objects.create(
        name=f"corpus-{n}", url=url, username="corpus", api_token=token,
        notification_secret=f"corpus-secret-{n}",
    )  # fmt: skip


def trigger_against(url: str, token: str = TOKEN) -> str:
    """Trigger one rebuild on the Jenkins at ``url``; what the request and lock say after."""
    server = server_row(url, token)
    n = Dependency.objects.count()
    job = Job.objects.create(server=server, jobtype=build_jobtype(f"corpus-{n}"), name=f"job{n}")
    dep = Dependency.objects.create(name=f"corpus-dep-{n}", job=job, last_built_revision="old")
    request = RebuildRequest.objects.create(dependency=dep, revision="new", reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state="triggering", lock_token=grant.token, fence=grant.fence
    )
    mark()
    trigger.trigger(request.pk)
    request.refresh_from_db()
    held = keyspaces().locks.inspect(dep.pk).holder is not None
    text = f"{request.state}: {request.detail}; lock {'held' if held else 'free'}"
    return text.replace(TOKEN, "<TOKEN LEAKED>")


def read_against(url: str, action) -> str:
    """A read through the client; the error it raised."""
    mark()
    try:
        action(client_for(server_row(url)))
    except JenkinsError as exc:
        return f"refused: {exc}".replace(TOKEN, "<TOKEN LEAKED>")
    return "answered"


class _CutShort(http.server.BaseHTTPRequestHandler):
    """Promises a long JSON body, sends a few bytes, hangs up."""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "5000")
        self.end_headers()
        self.wfile.write(b'{"_class": "hudson.model.Hud')
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def cut_short_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutShort)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def on_standin(action, root: Path, **options):
    def run() -> str:
        options.setdefault("quiet_period", 0)
        with JenkinsStandIn(username="corpus", password=TOKEN, root=root, **options) as jenkins:
            return action(jenkins)

    return run


def failing(status: int):
    def action(jenkins) -> str:
        jenkins.faults.fail_next(10, status)
        return trigger_against(jenkins.url)

    return action


def disconnecting(jenkins) -> str:
    jenkins.faults.update(disconnect_rate=1.0)
    return trigger_against(jenkins.url)


def starting(jenkins) -> str:
    jenkins.restart(downtime=30)
    return trigger_against(jenkins.url)


def wrong_token(jenkins) -> str:
    return trigger_against(jenkins.url, token="not-the-token-0000000000")


def duplicate(jenkins) -> str:
    mark()
    client = client_for(server_row(jenkins.url))
    from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml

    client.upsert_job("dup", freestyle_job_xml("true", parameters={"REVISION": ""}))
    first = client.trigger("dup", {"REVISION": "r1"})
    second = client.trigger("dup", {"REVISION": "r1"})
    if second.already_queued and second.queue_id == first.queue_id:
        return f"already queued as item {second.queue_id}; not triggered twice"
    return f"triggered twice: {first} {second}"


def unknown_build(jenkins) -> str:
    return read_against(jenkins.url, lambda c: c.build("no-such-job", 1))


def with_fake(manager, action):
    def run() -> str:
        with manager() as where:
            url = where if isinstance(where, str) else f"http://127.0.0.1:{where}/"
            return action(url)

    return run


def cases(root: Path) -> list[Case]:
    error = "error: Jenkins did not take the build: .*{}.*; lock free"
    s = lambda name: root / name  # noqa: E731
    return [
        *(Case("jenkins", f"trigger answered {code}", on_standin(failing(code), s(f"x{code}")),
               error.format(f"HTTP {code}")) for code in (500, 502, 503)),
        Case("jenkins", "Jenkins still starting", on_standin(starting, s("d")),
             error.format("503")),
        Case("jenkins", "connection dropped unanswered", on_standin(disconnecting, s("e")),
             error.format("(connection|closed|unreachable|aborted)")),
        Case("jenkins", "wrong API token", on_standin(wrong_token, s("f")),
             error.format("(401|403|credentials|auth)")),
        Case("jenkins", "303 duplicate is already queued",
             on_standin(duplicate, s("g"), quiet_period=60), "already queued as item \\d+"),
        Case("jenkins", "404 unknown build", on_standin(unknown_build, s("h")),
             "refused: .*(404|does not exist|not found)"),
        Case("jenkins", "HTML instead of JSON (trigger)",
             with_fake(servers.not_git_http, trigger_against),
             error.format("(JSON|HTML|unexpected|not Jenkins|answer)")),
        Case("jenkins", "HTML instead of JSON (read)",
             with_fake(servers.not_git_http, lambda u: read_against(u, lambda c: c.build("j", 1))),
             "refused: .*(JSON|HTML|unexpected|answer)"),
        Case("jenkins", "dropped mid-answer (read)",
             with_fake(cut_short_server, lambda u: read_against(u, lambda c: c.queue_item(1))),
             "refused: .*(connection|incomplete|broken|closed|JSON|answer)"),
        Case("jenkins", "dropped mid-answer (trigger)",
             with_fake(cut_short_server, trigger_against),
             error.format("(connection|incomplete|broken|closed|JSON|answer)")),
        Case("jenkins", "no answer at all",
             with_fake(servers.silent_server, lambda u: _quick(lambda: trigger_against(u))),
             error.format("no answer within")),
        Case("jenkins", "nobody listening", with_fake(servers.refused_port, trigger_against),
             error.format("(refused|unreachable|connect)")),
    ]  # fmt: skip


def _quick(action):
    with override_settings(CAPOMASTRO_CHANGES_JENKINS_TIMEOUT=1):
        return action()
