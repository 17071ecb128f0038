"""Notification payloads that must be refused (or, replayed and out of order, change nothing),
posted through the test client to the real endpoint."""

from __future__ import annotations

import json

from django.test import Client

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import Build, Dependency, JenkinsServer, Job, RebuildRequest
from capomastro_changes.testing.world import build_jobtype
from stress.corpus.case import Case, mark

SECRET = "notification-secret-for-the-corpus"


def world(state: str = "queued") -> tuple[JenkinsServer, RebuildRequest]:
    """A server, a job, and a request holding its lock, waiting for Jenkins' news."""
    n = JenkinsServer.objects.count()
    server = JenkinsServer.objects.create(
        name=f"notified-{n}", url="http://127.0.0.1:9/", notification_secret=SECRET
    )
    job = Job.objects.create(server=server, jobtype=build_jobtype(f"notified-{n}"), name="lib")
    dep = Dependency.objects.create(name=f"notified-{n}", job=job, last_built_revision="old")
    request = RebuildRequest.objects.create(dependency=dep, revision="new", reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(state=state, lock_token=grant.token)
    return server, request


def event(request: RebuildRequest | None, phase="FINALIZED", number=1, **build) -> dict:
    build = {
        "number": number, "phase": phase, "status": "SUCCESS",
        "full_url": f"http://127.0.0.1:9/job/lib/{number}/",
        "parameters": {"REVISION": "new", "REQUEST_ID": str(request.pk if request else 0)},
        **build,
    }  # fmt: skip
    return {"name": "lib", "url": "job/lib/", "build": build}


def post(server_id, body, secret: str | None = SECRET, content_type="application/json") -> str:
    query = f"?secret={secret}" if secret is not None else ""
    url = f"/changes/jenkins/{server_id}/notifications/{query}"
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    answer = Client().post(url, data=data, content_type=content_type)
    text = answer.content.decode("utf-8", "replace")
    return f"{answer.status_code} {text}".replace(SECRET, "<SECRET LEAKED>")


def refused(body_of, secret: str | None = SECRET, server_of=None):
    """Post a bad body to a fresh world; what the endpoint answered."""

    def run() -> str:
        server, request = world()
        mark()
        target = server_of(server) if server_of else server.pk
        return post(target, body_of(request), secret)

    return run


def replayed() -> str:
    server, request = world()
    post(server.pk, event(request, "STARTED"))
    post(server.pk, event(request, "FINALIZED"))
    mark()
    answer = post(server.pk, event(request, "FINALIZED", status="FAILURE"))
    return f"{answer}; request {_state(request)}"


def out_of_order() -> str:
    server, request = world()
    post(server.pk, event(request, "FINALIZED"))
    mark()
    answer = post(server.pk, event(request, "STARTED"))
    phase = Build.objects.get(job__server=server).phase
    return f"{answer}; build phase {phase}; request {_state(request)}"


def _state(request) -> str:
    request.refresh_from_db()
    return request.state


def build_with(**fields):
    return lambda r: event(r, **fields)


def cases() -> list[Case]:
    bad = "^400 .*"
    table = [
        ("not JSON", lambda r: b"this is not json", bad + "not JSON"),
        ("not UTF-8", lambda r: b"\xff\xfe\xfa", bad + "UTF-8"),
        ("empty body", lambda r: b"", bad + "(empty|not JSON)"),
        ("JSON array", lambda r: [1, 2], bad + "object"),
        ("number as text", build_with(number="seven"), bad + "build.number must be"),
        ("negative number", build_with(number=-3), bad + "must be positive"),
        ("boolean number", build_with(number=True), bad + "build.number must be"),
        ("phase unknown", build_with(phase="EXPLODED"), bad + "phase"),
        ("phase a list", build_with(phase=["FINALIZED"]), bad + "phase"),
        ("parameters a list", build_with(parameters=["REQUEST_ID=1"]), bad + "parameters"),
        ("artifacts wrong type", build_with(artifacts="all of them"), bad + "artifacts"),
        ("full_url javascript:", build_with(full_url="javascript:alert(1)"), bad + "not an http"),
        ("artifact URL javascript:",
         build_with(artifacts={"pkg.deb": {"archive": "javascript:alert(document.cookie)"}}),
         bad + "build.artifacts.pkg.deb.archive .* not an http"),
        ("artifact URL data: in a 1.6 list",
         build_with(artifacts={"pkg.deb": ["data:text/html,<script>alert(1)</script>"]}),
         bad + r"build.artifacts.pkg.deb\[0\] .* not an http"),
        ("name missing", lambda r: {"build": event(r)["build"]}, bad + "name is missing"),
        ("build missing", lambda r: {"name": "lib"}, bad + "build is missing"),
        ("unknown job", lambda r: dict(event(r), name="no-such-job"), bad + "no job named"),
        ("1 MB body", lambda r: dict(event(r), pad="x" * 2**20), "^4\\d\\d .*(large|bytes)"),
    ]  # fmt: skip
    made = [Case("notification", name, refused(body), expect) for name, body, expect in table]
    made += [
        Case("notification", "missing secret", refused(event, secret=None), "^403 .*wrong"),
        Case("notification", "wrong secret", refused(event, secret="guess"), "^403 .*wrong"),
        Case("notification", "secret of another server", secret_of_another, "^403 .*wrong"),
        # Answered like a wrong secret, so that server ids cannot be probed.
        Case("notification", "unknown server", refused(event, server_of=lambda s: 999999),
             "^403 .*wrong"),
        Case("notification", "replayed FINALIZED", replayed, "^200 .*; request succeeded$"),
        Case("notification", "STARTED after FINALIZED", out_of_order,
             "^200 .*build phase FINALIZED; request succeeded$"),
    ]  # fmt: skip
    return made


def secret_of_another() -> str:
    """The corpus secret, sent to a server whose own secret is another one."""
    _, request = world()
    other, _ = world()
    JenkinsServer.objects.filter(pk=other.pk).update(notification_secret="another-" + SECRET)
    mark()
    return post(other.pk, event(request))
