"""Read-only panels of the source and dependency pages: state, locks, recent history.

Each panel shows the newest few rows and links to the full list (newest
first, paginated) filtered to the object, so a page stays fast however long
the history grows.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from capomastro_changes.admin import badges
from capomastro_changes.admin.locking import read_lock
from capomastro_changes.models import CheckRecord, RebuildRequest, SourceState

RECENT = 10


def admin_link(obj, label=None) -> SafeString:
    """A link to ``obj``'s admin page, labelled with ``label`` or the object itself."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def changelist_link(model, label: str, **filters) -> SafeString:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a class="cc-more" href="{}?{}">{}</a>', url, query, label)


def table(headers, rows) -> SafeString:
    """A plain admin-styled table; ``rows`` are tuples of already-safe or plain values."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html(
        '<table class="cc-panel"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body
    )


def lag_panel(lag) -> SafeString:
    """Whether the dependency is built at its source's tip; if not, since when and why."""
    if not lag.behind:
        return format_html("{}", "built at its source's tip")
    rows = [
        ("reason", badges.lag_badge(lag)),
        ("since", badges.when(lag.since)),
        ("needs a person", "yes" if lag.stuck else "no: it is catching up"),
        ("detail", badges.redact_text(lag.detail)),
    ]
    return table(("", ""), rows)


def state_panel(state: SourceState | None) -> SafeString:
    """The source's last check, its error in full, and when it is checked next."""
    if state is None:
        return format_html("{}", badges.NONE)
    rows = [
        ("last check", badges.outcome_badge(state.last_outcome, state.last_error)),
        ("last revision", badges.short_revision(state.last_revision, state.last_revno)),
        ("last checked", badges.when(state.last_checked_at)),
        ("last changed", badges.when(state.last_changed_at)),
        ("next check", badges.when(state.next_check_at) if state.enabled else "disabled"),
        ("failures in a row", state.consecutive_failures),
    ]
    if state.last_error:
        rows.append(
            (
                "error",
                format_html('<pre class="cc-error">{}</pre>', badges.redact_text(state.last_error)),
            )
        )
    return table(("", ""), rows)


def dependencies_panel(source) -> SafeString:
    """Every dependency on the source: its policy, whether enabled, and its live lock."""
    rows = [
        (
            admin_link(dep),
            dep.busy_policy,
            "yes" if dep.changes_enabled else "no",
            badges.short_revision(dep.last_built_revision, dep.last_built_revno),
            badges.lock_summary(read_lock(dep.pk)),
            changelist_link(RebuildRequest, "requests", dependency__id__exact=dep.pk),
        )
        for dep in source.dependencies.order_by("name")
    ]
    headers = ("dependency", "busy policy", "enabled", "last built", "build lock", "")
    return table(headers, rows)


def checks_panel(source) -> SafeString:
    """The newest checks of the source, and a link to all of them."""
    checks = CheckRecord.objects.filter(source=source)
    rows = [
        (
            badges.when(c.started_at),
            badges.outcome_badge(c.outcome, c.error),
            badges.short_revision(c.old_revision, c.old_revno),
            badges.short_revision(c.new_revision, c.new_revno),
            f"{c.duration_ms:.0f} ms",
            c.probe,
            badges.redact_text(c.error),
        )
        for c in checks[:RECENT]
    ]
    headers = ("started", "outcome", "from", "to", "took", "probe", "error")
    more = changelist_link(
        CheckRecord, f"all {checks.count()} checks, newest first", source__id__exact=source.pk
    )
    return format_html("{}<p>{}</p>", table(headers, rows), more)


def requests_panel(requests, more: SafeString | str = "") -> SafeString:
    """The newest rebuild requests: state (why, on hover), who asked, what superseded it."""
    rows = [
        (
            admin_link(r, f"#{r.pk}"),
            r.dependency,
            badges.short_revision(r.revision, r.revno),
            r.reason,
            badges.request_badge(r.state, r.detail),
            r.requested_by or badges.NONE,
            admin_link(r.superseded_by, f"#{r.superseded_by_id}")
            if r.superseded_by_id
            else badges.NONE,
            admin_link(r.build) if r.build_id else badges.NONE,
            badges.when(r.created_at),
        )
        for r in requests.select_related("dependency", "build__job")[:RECENT]
    ]
    headers = (
        "request",
        "dependency",
        "revision",
        "reason",
        "state",
        "by",
        "superseded by",
        "build",
        "created",
    )
    return format_html("{}<p>{}</p>", table(headers, rows), more)
