"""The first page after login: what changed, what builds, what waits, fails, is locked or behind.

The admin index gains, above the list of models, the numbers a release
engineer reads first. Each number links to the filtered list behind it, so
that the list shows that many rows. A chart of checks, changes and builds per
hour over the last day is drawn here as SVG, with no script and nothing
fetched from outside: these deployments often have no internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from capomastro_changes.conf import settings
from capomastro_changes.models import CheckRecord, Dependency, RebuildRequest, SourceState
from capomastro_changes.models.lag import lags
from capomastro_changes.models.querysets import IN_FLIGHT

HOURS = 24
SERIES = (("checks", "#417690"), ("changes", "#ba2121"), ("builds", "#44b78b"))
CHANGED = ("changed", "rewritten")
FAILING = ("error", "missing")


@dataclass(frozen=True)
class Figure:
    """One number of the overview, and the list that shows its rows."""

    label: str
    number: int
    link: str
    hint: str = ""


def changelist(name: str, **query) -> str:
    url = reverse(f"admin:capomastro_changes_{name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def figures(now: datetime | None = None) -> list[tuple[str, list[Figure]]]:
    """The overview's numbers, by section, each with the link to its rows."""
    now = now or timezone.now()
    hour, day = _stamp(now - timedelta(hours=1)), _stamp(now - timedelta(days=1))
    checks = CheckRecord.objects.all()
    requests = RebuildRequest.objects.all()
    failing = SourceState.objects.filter(last_outcome__in=FAILING, enabled=True)
    behind = behind_dependencies()
    return [
        ("Sources", [
            Figure("checks, last hour", checks.filter(started_at__gte=hour).count(),
                   changelist("checkrecord", started_at__gte=hour)),
            Figure("checks, last day", checks.filter(started_at__gte=day).count(),
                   changelist("checkrecord", started_at__gte=day)),
            Figure("changes found, last hour",
                   checks.filter(started_at__gte=hour, outcome__in=CHANGED).count(),
                   changelist("checkrecord", started_at__gte=hour, outcome__in=",".join(CHANGED))),
            Figure("changes found, last day",
                   checks.filter(started_at__gte=day, outcome__in=CHANGED).count(),
                   changelist("checkrecord", started_at__gte=day, outcome__in=",".join(CHANGED))),
            Figure("failing now", failing.count(),
                   changelist("source", state__last_outcome__in=",".join(FAILING))),
        ]),
        ("Builds", [
            Figure("running", requests.filter(state="building").count(),
                   changelist("rebuildrequest", state__exact="building")),
            Figure("queued in Jenkins", requests.filter(state="queued").count(),
                   changelist("rebuildrequest", state__exact="queued")),
            Figure("waiting for the lock",
                   requests.filter(state="waiting", waiting_for="lock").count(),
                   changelist("rebuildrequest", state__exact="waiting", waiting_for__exact="lock")),
            Figure("waiting for capacity",
                   requests.filter(state="waiting", waiting_for="capacity").count(),
                   changelist("rebuildrequest", state__exact="waiting",
                              waiting_for__exact="capacity")),
            Figure("locks held", requests.filter(state__in=IN_FLIGHT).count(),
                   changelist("rebuildrequest", state__in=",".join(IN_FLIGHT)),
                   "builds holding their dependency's lock, from triggering to settled"),
        ]),
        ("Dependencies", [
            Figure("behind their source", len(behind), changelist("dependency", behind="yes"),
                   _oldest(behind)),
        ]),
    ]  # fmt: skip


def behind_dependencies() -> dict[int, object]:
    """Every enabled dependency behind its source's tip, and why (see :mod:`..models.lag`)."""
    deps = list(Dependency.objects.filter(changes_enabled=True).select_related("source__state"))
    return {pk: lag for pk, lag in lags(deps).items() if lag.behind}


def _oldest(behind: dict) -> str:
    since = [lag.since for lag in behind.values() if lag.since]
    return f"the oldest since {min(since):%Y-%m-%d %H:%M %Z}" if since else ""


def _stamp(moment: datetime) -> str:
    """A moment as the admin's filters read it back (ISO 8601, whole seconds)."""
    return moment.replace(microsecond=0).isoformat()


def hourly(now: datetime | None = None) -> dict[str, list[int]]:
    """Checks, changes and builds in each of the last 24 hours, oldest first."""
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=HOURS - 1)
    slots = {start + timedelta(hours=h): h for h in range(HOURS)}

    def per_hour(queryset, field: str) -> list[int]:
        counts = [0] * HOURS
        rows = (
            queryset.filter(**{f"{field}__gte": start})
            .annotate(hour=TruncHour(field))
            .values("hour")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            if row["hour"] in slots:
                counts[slots[row["hour"]]] = row["n"]
        return counts

    checks = CheckRecord.objects.all()
    return {
        "checks": per_hour(checks, "started_at"),
        "changes": per_hour(checks.filter(outcome__in=CHANGED), "started_at"),
        "builds": per_hour(RebuildRequest.objects.exclude(build=None), "created_at"),
    }


AXIS = 16  # pixels under the chart for the hour labels


def chart(series: dict[str, list[int]], width: int = 720, height: int = 160) -> SafeString:
    """One polyline per series, one point per hour, drawn as inline SVG (no script)."""
    top = max([1, *(n for counts in series.values() for n in counts)])
    step = width / (HOURS - 1)

    def points(counts: list[int]) -> str:
        return " ".join(
            f"{i * step:.1f},{height - n * (height - 10) / top:.1f}" for i, n in enumerate(counts)
        )

    lines = format_html_join(
        "",
        '<polyline class="cc-series" data-series="{}" points="{}" fill="none" stroke="{}" '
        'stroke-width="2"><title>{}: {} in the last {} hours</title></polyline>',
        (
            (name, points(series[name]), colour, name, sum(series[name]), HOURS)
            for name, colour in SERIES
        ),
    )
    legend = format_html_join(
        " ", '<span style="color:{}">&#9632; {}</span>', ((c, n) for n, c in SERIES)
    )
    # A time axis under the lines: a tick and a label every six hours, "now" at the right.
    ticks = [(i, "now" if i == HOURS - 1 else f"-{HOURS - 1 - i} h") for i in range(5, HOURS, 6)]
    axis = format_html_join(
        "",
        '<line class="cc-axis" x1="{0}" y1="0" x2="{0}" y2="{1}" stroke="#ddd"/>'
        '<text class="cc-axis" x="{0}" y="{2}" font-size="11" fill="#666" '
        'text-anchor="{3}">{4}</text>',
        ((f"{i * step:.1f}", height, height + AXIS - 3, "end" if i == HOURS - 1 else "middle",
          label) for i, label in ticks),
    )  # fmt: skip
    scale = format_html(
        '<text class="cc-axis" x="2" y="12" font-size="11" fill="#666">{}</text>', top
    )
    return format_html(
        '<svg class="cc-chart" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" '
        'viewBox="0 0 {} {}" role="img" aria-label="checks, changes and builds per hour">'
        "{}{}{}</svg><div>{} &middot; per hour, last {} hours, highest {}</div>",
        width, height + AXIS, width, height + AXIS, axis, scale, lines, legend, HOURS, top,
    )  # fmt: skip


def beat_status() -> dict:
    """Which beat leads, and when the sweep last ran (None where nobody can tell)."""
    from django_celery_beat.models import PeriodicTask

    from capomastro_changes.beat import LEASE_NAME
    from capomastro_changes.coordination.connection import get_redis
    from capomastro_changes.coordination.errors import CoordinationError
    from capomastro_changes.coordination.leases import Leadership

    try:
        leader = Leadership(get_redis(), prefix=settings.REDIS_PREFIX).leader(LEASE_NAME)
    except CoordinationError:  # the page still renders, saying it cannot tell
        leader = None
    swept = (
        PeriodicTask.objects.filter(task="capomastro_changes.sweep")
        .exclude(last_run_at=None)
        .values_list("last_run_at", flat=True)
        .first()
    )
    return {"leader": leader, "last_sweep": swept}


def overview() -> dict:
    """What the admin index shows above the models (see the ``cc_overview`` tag)."""
    return {"figures": figures(), "chart": chart(hourly()), "beat": beat_status()}
