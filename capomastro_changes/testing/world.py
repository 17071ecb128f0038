"""A small build world in the database, wired to a Jenkins stand-in: for tests and the demo."""

from __future__ import annotations

from capomastro_changes.models import JenkinsServer, JobType
from capomastro_changes.testing.jenkins.jobs import freestyle_job_xml

BUILD_PARAMETERS = dict.fromkeys(
    ("BUILD_ID", "REVISION", "PREVIOUS_REVISION", "REASON", "REQUEST_ID"), ""
)


def build_config_template(seconds: float = 0) -> str:
    """A job type template: prints what it builds, archives ``revision.txt``, notifies us."""
    step = (
        'echo "building $REVISION (was $PREVIOUS_REVISION) for $BUILD_ID: $REASON"\n'
        f"sleep {seconds:g}\n"
        'echo "$REVISION" > revision.txt\n'
    )
    return freestyle_job_xml(
        step,
        parameters=BUILD_PARAMETERS,
        artifacts="revision.txt",
        notify=["{{ notifications_url }}"],
    )


def standin_server(standin, name: str = "stand-in", **fields) -> JenkinsServer:
    """A JenkinsServer row for a running :class:`JenkinsStandIn`."""
    fields.setdefault("notification_secret", "notification-secret-for-tests")
    fields.setdefault("username", standin.username or "")
    fields.setdefault("api_token", standin.password or "")
    return JenkinsServer.objects.create(name=name, url=standin.url, **fields)


def build_jobtype(name: str = "package", seconds: float = 0, **fields) -> JobType:
    fields.setdefault("config_xml", build_config_template(seconds))
    return JobType.objects.create(name=name, **fields)


def no_news_for(request, seconds: float) -> None:
    """Make a rebuild request look as if it heard nothing for ``seconds``: as the reaper
    sees one whose notifications were lost, without a test waiting that long."""
    from datetime import timedelta

    from django.utils import timezone

    from capomastro_changes.models import RebuildRequest

    when = timezone.now() - timedelta(seconds=seconds)
    RebuildRequest.objects.filter(pk=request.pk).update(updated_at=when)


def stranded_in_trigger(dep, revision: str = "rev-1"):
    """A request whose worker took the lock and died mid-trigger, longer ago than a
    trigger can take (so the reaper may act on it)."""
    from capomastro_changes.conf import settings
    from capomastro_changes.coordination.keyspaces import keyspaces
    from capomastro_changes.models import RebuildRequest

    request = RebuildRequest.objects.create(dependency=dep, revision=revision, reason="change")
    grant = keyspaces().locks.acquire(dep.pk, request.pk).grant
    RebuildRequest.objects.filter(pk=request.pk).update(
        state="triggering", lock_token=grant.token, fence=grant.fence
    )
    no_news_for(request, settings.trigger_stall_after() + 1)
    request.refresh_from_db()
    return request
