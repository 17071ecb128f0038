"""A token in a source URL, as GitHub, GitLab and Bitbucket take it (the whole user part,
``https://ghp_…@host/repo.git``) or as a query parameter (``?private_token=…``), is
never shown: not in the status JSON, the admin list or change form, a log line of
any check, a check record, the command line's ``status`` and ``check``, nor a
Jenkins build description. Everything is collected after real checks, then searched."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from capomastro_changes.cli import console
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.detection import check
from capomastro_changes.models import (
    Build,
    CheckRecord,
    Dependency,
    RebuildRequest,
    Source,
    SourceState,
)
from capomastro_changes.rebuilds import trigger
from capomastro_changes.testing.factories import make_dependency, make_job, make_server
from capomastro_changes.testing.jenkins import JenkinsStandIn
from capomastro_changes.testing.servers import refused_port
from capomastro_changes.testing.world import build_jobtype

pytestmark = pytest.mark.django_db
USER_TOKEN = "ghp_UserPartToken0123456789abcdef"
QUERY_TOKENS = {
    "token": "tokQueryValue5566",
    "access_token": "accessQueryValue7788",
    "private_token": "glpat-PrivateQuery9900",
}
SECRETS = (USER_TOKEN, *QUERY_TOKENS.values())
API = "api-token-for-status-endpoints-000000"


def token_urls(port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}"
    return [f"http://{USER_TOKEN}@127.0.0.1:{port}/user-token.git"] + [
        f"{base}/{name}.git?{name}={value}" for name, value in QUERY_TOKENS.items()
    ]


@pytest.fixture
def checked(redis_client, key_prefix, settings, caplog, tmp_path):
    """Dependencies on token-bearing URLs, each checked (and failing) for real."""
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_API_TOKENS = [API]
    settings.CAPOMASTRO_CHANGES_JENKINS_TIMEOUT = 3
    caplog.set_level(logging.DEBUG)
    with JenkinsStandIn(quiet_period=0, root=tmp_path / "jenkins") as jenkins:
        server = make_server(url=jenkins.url, username="", api_token="")
        job = make_job(server=server, jobtype=build_jobtype("tokened"), name="tok")
        with refused_port() as port:
            deps = []
            for n, url in enumerate(token_urls(port)):
                source = Source.objects.for_location("git", url, "main")
                deps.append(make_dependency(name=f"tokened-{n}", job=job, source=source))
                check.check_source(source.pk)
        describe_a_build(jenkins, deps[0])
        descriptions = [jenkins.state.build("tok", 1).description or ""]
    return deps, descriptions


def describe_a_build(jenkins, dep: Dependency) -> None:
    request = RebuildRequest.objects.create(dependency=dep, revision="c" * 40, reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(state="triggering", lock_token=grant.token)
    trigger.trigger(request.pk)
    record = jenkins.wait_for_build(dep.job.name, 1)
    build = Build.objects.create(job=dep.job, number=record.number)
    RebuildRequest.objects.filter(pk=request.pk).update(build=build)
    trigger.describe_on_jenkins(request.pk)


def test_no_url_token_is_shown_anywhere(checked, admin_client, client, caplog, capsys):
    deps, descriptions = checked
    seen = list(descriptions)
    assert any(descriptions), "the build was described on Jenkins"
    for dep in deps:
        pages = [("source", dep.source_id), ("dependency", dep.pk)]
        for name, pk in pages:
            url = reverse(f"admin:capomastro_changes_{name}_change", args=[pk])
            seen.append(admin_client.get(url).content.decode())
        status = f"/changes/status/sources/{dep.source_id}/"
        seen.append(client.get(status, HTTP_AUTHORIZATION=f"Bearer {API}").content.decode())
    for name in ("source", "dependency", "checkrecord", "rebuildrequest"):
        seen.append(
            admin_client.get(
                reverse(f"admin:capomastro_changes_{name}_changelist")
            ).content.decode()
        )
    console.status()
    console.check([dep.name for dep in deps])
    out = capsys.readouterr()
    seen += [out.out, out.err]
    seen += [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    seen += [" ".join(row) for row in CheckRecord.objects.values_list("error", "probe")]
    seen += list(SourceState.objects.values_list("last_error", flat=True))
    seen += [str(dep.source) + repr(dep.source) for dep in deps]

    assert CheckRecord.objects.filter(outcome="error").count() >= len(
        deps
    )  # each check ran, and failed
    assert any("***@127.0.0.1" in text for text in seen)  # shown, redacted
    assert any("private_token=***" in text for text in seen)
    leaks = [(secret, text[:300]) for text in seen for secret in SECRETS if secret in text]
    assert leaks == []
