"""The django-celery-beat schedules behind the app (sweep, reaper, full rebuild), linked from
our lists, and which beat leads now."""

from __future__ import annotations

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from capomastro_changes.beat import LEASE_NAME
from capomastro_changes.conf import settings
from capomastro_changes.coordination.connection import get_redis
from capomastro_changes.coordination.errors import CoordinationError
from capomastro_changes.coordination.leases import Leadership

NAME_PREFIX = "capomastro-changes: "


def schedule_links() -> list[dict]:
    """One link per schedule of ours, to its django-celery-beat admin page."""
    if not apps.is_installed("django_celery_beat"):
        return []
    from django_celery_beat.models import PeriodicTask

    tasks = (
        PeriodicTask.objects.filter(name__startswith=NAME_PREFIX)
        .select_related("interval", "crontab")
        .order_by("name")
    )
    links = []
    for task in tasks:
        try:
            url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        except NoReverseMatch:  # the host site does not show beat's models
            return []
        every = task.interval or task.crontab
        links.append(
            {
                "label": task.name.removeprefix(NAME_PREFIX),
                "url": url,
                "enabled": task.enabled,
                "when": str(every) if every else "",
            }
        )
    return links


def beat_leader() -> str:
    """The beat holding the leader lease, for the lists' header."""
    try:
        leader = Leadership(get_redis(), prefix=settings.REDIS_PREFIX).leader(LEASE_NAME)
    except CoordinationError:
        return "unknown (Redis did not answer)"
    return leader or "none (no beat is running)"


class ScheduleLinksMixin:
    """A changelist that shows the schedules and the beat leader above its rows."""

    change_list_template = "admin/capomastro_changes/change_list_with_schedules.html"

    def changelist_view(self, request, extra_context=None):
        extra = {"cc_schedules": schedule_links(), "cc_beat_leader": beat_leader()}
        return super().changelist_view(request, {**extra, **(extra_context or {})})
