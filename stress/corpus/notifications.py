"""Notification payloads that must be refused (or, replayed and out of order, change nothing),
posted through the test client to the real endpoint."""

from __future__ import annotations

import json

from django.test import Client, override_settings

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import (
    Build,
    Dependency,
    JenkinsServer,
    Job,
    Project,
    RebuildRequest,
)
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


def request_id(value: str):
    """A notification whose REQUEST_ID parameter is ``value``."""

    def body(r):
        sent = event(r)
        sent["build"]["parameters"]["REQUEST_ID"] = value
        return sent

    return body


def nested(r, opening: str, closing: str, depth: int = 5000) -> bytes:
    """A valid notification with ``depth`` levels of nesting in one parameter."""
    text = json.dumps(event(r)).replace('"REVISION": "new"', '"REVISION": "@@"')
    return text.replace('"@@"', opening * depth + "1" + closing * depth).encode()


def cases() -> list[Case]:
    bad = "^400 .*"
    table = [
        ("not JSON", lambda r: b"this is not json", bad + "not JSON"),
        ("not UTF-8", lambda r: b"\xff\xfe\xfa", bad + "UTF-8"),
        ("empty body", lambda r: b"", bad + "(empty|not JSON)"),
        ("JSON array", lambda r: [1, 2], bad + "object"),
        ("number as text", build_with(number="seven"), bad + "build.number must be"),
        ("negative number", build_with(number=-3), bad + "build.number must lie between 1 and"),
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
        # Nesting that would exhaust the decoder's recursion: refused, never a 500.
        ("5,000 nested arrays", lambda r: nested(r, "[", "]"), bad + "nests deeper than"),
        ("5,000 nested objects", lambda r: nested(r, '{"a":', "}"), bad + "nests deeper than"),
        ("40 nested arrays in a parameter", lambda r: nested(r, "[", "]", 40),
         bad + "nests deeper than"),
        # Numbers Python holds but the database does not: refused before anything is stored.
        ("build number 2**64", build_with(number=2**64), bad + "build.number must lie between"),
        ("build number 2**31", build_with(number=2**31), bad + "build.number must lie between"),
        ("queue id 2**64", build_with(queue_id=2**64), bad + "build.queue_id must lie between"),
        ("negative queue id", build_with(queue_id=-1), bad + "build.queue_id must lie between"),
        ("duration 2**70", build_with(duration=2**70), bad + "build.duration must lie between"),
        ("negative timestamp", build_with(timestamp=-5), bad + "build.timestamp must lie between"),
        ("number a float", build_with(number=1.0), bad + "build.number must be an integer"),
        ("REQUEST_ID superscript two", request_id("\u00b2"), bad + "REQUEST_ID .* not a request"),
        ("REQUEST_ID Arabic three", request_id("\u0663"), bad + "REQUEST_ID .* not a request"),
        ("REQUEST_ID 2**64", request_id(str(2**64)), bad + "REQUEST_ID .* not a request"),
        ("REQUEST_ID negative", request_id("-1"), bad + "REQUEST_ID .* not a request"),
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
    made += endpoint_cases()
    return made


API_TOKEN = "api-token-for-the-bad-input-corpus-0001"


def pushed(body: bytes):
    """A push with a bad JSON body, through the real endpoint, with a valid API token."""

    def run() -> str:
        world()
        mark()
        with override_settings(CAPOMASTRO_CHANGES_API_TOKENS=[API_TOKEN]):
            answer = Client().post("/changes/push/", data=body, content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}")  # fmt: skip
        return f"{answer.status_code} {answer.content.decode('utf-8', 'replace')}"

    return run


def project_status(query: str):
    """A project's status asked with a bad ``?builds=``."""

    def run() -> str:
        server, request = world()
        project = Project.objects.create(name=f"corpus-project-{Project.objects.count()}")
        mark()
        with override_settings(CAPOMASTRO_CHANGES_API_TOKENS=[API_TOKEN]):
            answer = Client().get(f"/changes/status/projects/{project.pk}/?builds={query}",
                                  HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}")  # fmt: skip
        return f"{answer.status_code} {answer.content.decode('utf-8', 'replace')}"

    return run


def status_path(tail: str):
    """A status endpoint asked about a row id no database column holds."""

    def run() -> str:
        world()
        mark()
        with override_settings(CAPOMASTRO_CHANGES_API_TOKENS=[API_TOKEN]):
            answer = Client().get(f"/changes/status/{tail}",
                                  HTTP_AUTHORIZATION=f"Bearer {API_TOKEN}")  # fmt: skip
        return f"{answer.status_code} {answer.content.decode('utf-8', 'replace')[:200]}"

    return run


def notify_path(server_id: str):
    """A notification to a server id no database column holds."""

    def run() -> str:
        _, request = world()
        mark()
        return post(server_id, event(request))

    return run


def endpoint_cases() -> list[Case]:
    deep = b'{"url": "https://example.com/r.git", "branches": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    objects = b'{"url": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
    return [
        Case("push", "5,000 nested arrays", pushed(deep), "^400 .*nests deeper than"),
        Case("push", "5,000 nested objects", pushed(objects), "^400 .*nests deeper than"),
        Case("push", "revision like an option", pushed(b'{"url": "https://e.com/r.git", '
             b'"sha1": "--upload-pack=touch /tmp/x"}'), "^400 .*starting with '-'"),
        Case("push", "revision with a space", pushed(b'{"url": "https://e.com/r.git", '
             b'"revision": "abc def"}'), "^400 .*whitespace"),
        Case("status", "?builds= superscript two", project_status("%C2%B2"),
             "^400 .*builds must be a whole number"),
        Case("status", "?builds= Arabic three", project_status("%D9%A3"),
             "^400 .*builds must be a whole number"),
        Case("status", "?builds= negative", project_status("-1"),
             "^400 .*builds must be a whole number"),
        Case("status", "?builds= 2**64", project_status(str(2**64)),
             "^400 .*builds must be a whole number"),
        Case("status", "source id 2**80", status_path(f"sources/{2**80}/"), "^404 "),
        Case("status", "project id 2**64", status_path(f"projects/{2**64}/"), "^404 "),
        Case("notification", "server id 2**80", notify_path(f"{2**80}"), "^404 "),
    ]  # fmt: skip


def secret_of_another() -> str:
    """The corpus secret, sent to a server whose own secret is another one."""
    _, request = world()
    other, _ = world()
    JenkinsServer.objects.filter(pk=other.pk).update(notification_secret="another-" + SECRET)
    mark()
    return post(other.pk, event(request))
