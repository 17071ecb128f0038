"""After a run with known secrets (a Jenkins API token, a notification secret, a password
in a source URL), none of them appears in any rendered page, log line, exception message,
check-history row or request detail: everything is collected, then searched."""

import logging

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.detection import check
from capomastro_changes.jenkins.client import JenkinsError, client_for
from capomastro_changes.models import (
    CheckRecord,
    Dependency,
    JenkinsServer,
    Job,
    RebuildRequest,
    Source,
    SourceState,
)
from capomastro_changes.rebuilds import trigger
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.servers import refused_port
from capomastro_changes.testing.world import build_jobtype

pytestmark = pytest.mark.django_db
API_TOKEN = "jenkins-api-token-7f3a9c-never-shown"
NOTIFICATION_SECRET = "notification-secret-2b8e41-never-shown"
URL_PASSWORD = "url-password-d04c17-never-shown"
SECRETS = (API_TOKEN, NOTIFICATION_SECRET, URL_PASSWORD)
API = "api-token-for-status-endpoints-000000"


@pytest.fixture
def seen(redis_client, key_prefix, settings, caplog):
    """Everything an operator or an attacker could read, filled in by the run below."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_JENKINS_TIMEOUT = 3
    settings.CAPOMASTRO_CHANGES_API_TOKENS = [API]
    caplog.set_level(logging.DEBUG)
    return []


def run_with_secrets(jenkins, seen, client) -> JenkinsServer:
    server = JenkinsServer.objects.create(
        name="secret-holder", url=jenkins.url, username="builder", api_token=API_TOKEN,
        notification_secret=NOTIFICATION_SECRET,
    )  # fmt: skip
    job = Job.objects.create(server=server, jobtype=build_jobtype("kind"), name="libsecret")
    with refused_port() as port:
        url = f"http://builder:{URL_PASSWORD}@127.0.0.1:{port}/repo.git"
        source = Source.objects.for_location("git", url, "main")
        dep = Dependency.objects.create(name="libsecret", job=job, source=source)
        SourceState.objects.filter(pk=source.pk).update(last_revision="a" * 40)
        check.check_source(source.pk)
    trigger_failing(jenkins, dep)
    for action in (lambda c: c.build("libsecret", 99), lambda c: c.queue_item(12345)):
        try:
            action(client_for(server))
        except JenkinsError as exc:
            seen.append(f"{exc!s} {exc!r}")
    notify(client, server, seen)
    return server


def trigger_failing(jenkins, dep) -> None:
    request = RebuildRequest.objects.create(dependency=dep, revision="b" * 40, reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(state="triggering", lock_token=grant.token)
    jenkins.faults.fail_next(20, 500)
    trigger.trigger(request.pk)


def notify(client, server, seen) -> None:
    base = reverse("capomastro_changes:jenkins-notification", args=[server.pk])
    for secret, body in (("wrong", b"{}"), (NOTIFICATION_SECRET, b"not json"),
                         (NOTIFICATION_SECRET, b'{"name": "nope", "build": {"number": 1, '
                                               b'"phase": "STARTED"}}')):  # fmt: skip
        answer = client.post(f"{base}?secret={secret}", data=body, content_type="application/json")
        seen.append(answer.content.decode())


def admin_pages(admin_client, seen) -> None:
    for model in admin.site._registry:
        if model._meta.app_label != "capomastro_changes":
            continue
        name = model._meta.model_name
        seen.append(
            admin_client.get(
                reverse(f"admin:capomastro_changes_{name}_changelist")
            ).content.decode()
        )
        for pk in model.objects.values_list("pk", flat=True)[:5]:
            try:
                url = reverse(f"admin:capomastro_changes_{name}_change", args=[pk])
            except NoReverseMatch:
                continue
            seen.append(admin_client.get(url).content.decode())


def records(seen) -> None:
    for model, fields in ((CheckRecord, ("error", "probe", "old_revision", "new_revision")),
                          (SourceState, ("last_error",)), (RebuildRequest, ("detail",)),
                          (Source, ("url_key",))):  # fmt: skip
        for row in model.objects.values_list(*fields):
            seen.append(" ".join(str(v) for v in row))


def test_no_secret_appears_anywhere_after_a_run(seen, admin_client, client, caplog, tmp_path):
    with JenkinsStandIn(quiet_period=0, username="builder", password=API_TOKEN,
                        root=tmp_path / "jenkins") as jenkins:  # fmt: skip
        server = run_with_secrets(jenkins, seen, client)
    admin_pages(admin_client, seen)
    dep = Dependency.objects.get(name="libsecret")
    for url in (f"/changes/status/sources/{dep.source_id}/", "/changes/metrics/"):
        seen.append(client.get(url, HTTP_AUTHORIZATION=f"Bearer {API}").content.decode())
    records(seen)
    seen.extend(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    seen.append(str(server) + str(dep.source) + repr(dep.source))
    assert CheckRecord.objects.filter(outcome="error").exists()  # the run did fail where planned
    assert RebuildRequest.objects.filter(state="error").exists()
    assert len(seen) > 30
    assert any("***@127.0.0.1" in text for text in seen)  # shown, redacted
    leaks = [(n, text[:200]) for text in seen for n, s in enumerate(SECRETS) if s in text]
    assert leaks == []
