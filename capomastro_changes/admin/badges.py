"""How the admin draws state: outcome badges, short revisions, lock state, secrets as set/not set.

Plain functions from values to HTML, so every page says the same thing the
same way, and nothing secret (a lock token, a password in a URL) is ever
passed to a template.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from capomastro_changes import revisions
from capomastro_changes.coordination.values import LockState
from capomastro_changes.redaction import redact_text  # pages call it as badges.redact_text

OUTCOME_COLOURS = {
    "baseline": "#417690",
    "unchanged": "#4f7a28",
    "changed": "#205493",
    "rewritten": "#b35c00",
    "missing": "#8a4b00",
    "error": "#ba2121",
}
REQUEST_COLOURS = {
    "pending": "#666",
    "waiting": "#806600",
    "triggering": "#205493",
    "queued": "#205493",
    "building": "#205493",
    "succeeded": "#4f7a28",
    "failed": "#ba2121",
    "error": "#ba2121",
    "refused": "#ba2121",
    "superseded": "#666",
    "discarded": "#666",
    "cancelled": "#666",
}
NONE = "—"
BR = mark_safe("<br>")


def badge(label: str, colour: str, title: str = "") -> SafeString:
    """A small coloured label; ``title`` is the text shown on hover."""
    return format_html(
        '<span class="cc-badge cc-{}" title="{}" style="background:{};color:#fff;'
        'padding:1px 7px;border-radius:9px;white-space:nowrap">{}</span>',
        label or "none",
        title,
        colour,
        label,
    )


def outcome_badge(outcome: str, error: str = "") -> SafeString:
    """The last check's outcome; its error text on hover."""
    if not outcome:
        return badge("not checked yet", "#999", "No check has run yet.")
    return badge(outcome, OUTCOME_COLOURS.get(outcome, "#666"), redact_text(error))


def request_badge(state: str, detail: str = "") -> SafeString:
    """A rebuild request's state; why it is there on hover."""
    return badge(state, REQUEST_COLOURS.get(state, "#666"), redact_text(detail))


def short_revision(revision: str, revno: int | None = None) -> SafeString | str:
    """A git id cut to 12 characters, a bzr revision as its revno; the full id on hover."""
    if not revision:
        return NONE
    label = revisions.short_revision(revision, revno)
    return format_html('<code title="{}">{}</code>', revision, label)


def lag_badge(lag) -> SafeString | str:
    """A dependency behind its source: why, since when on hover; a dash when it is at the tip."""
    if not lag.behind:
        return NONE
    colour = "#ba2121" if lag.stuck else "#999"
    return badge(lag.reason, colour, redact_text(f"since {when(lag.since)}: {lag.detail}"))


def outside_link(url: str, label: str, css_class: str) -> SafeString:
    """A link to ``url`` when it is http(s); otherwise ``label`` as plain text.

    Notifications are refused when a URL is not http(s), so this guards rows
    stored before that rule (or written by hand): a ``javascript:`` URL never
    becomes something an operator can click.
    """
    if urlsplit(url or "").scheme in ("http", "https"):  # credentials in it stay out of the page
        return format_html('<a class="{}" href="{}">{}</a>', css_class, redact_text(url), label)
    return format_html('<span class="{}" title="not an http(s) URL">{}</span>', css_class, label)


def secret_state(value: str) -> str:
    """A secret as an operator may see it."""
    return "set" if value else "not set"


def when(moment: datetime | None) -> str:
    """A time as the admin writes dates (its ``DATETIME_FORMAT``), with the time zone.

    One format on every page: the columns and panels of this app use it, and
    Django's own date fields differ only by the zone it adds.
    """
    if moment is None:
        return NONE
    local = timezone.localtime(moment)
    text = formats.date_format(local, "DATETIME_FORMAT")
    zone = local.tzname() or ""
    return text if text.endswith(zone) else f"{text} {zone}"  # a host's format may lack it


def request_link(request_id: str | int) -> SafeString:
    url = reverse("admin:capomastro_changes_rebuildrequest_change", args=[request_id])
    return format_html('<a href="{}">request #{}</a>', url, request_id)


def lock_summary(state: LockState | None) -> SafeString:
    """Who builds the dependency now, since and until when, and who waits; never the token."""
    if state is None:
        return badge("unknown", "#999", "Redis did not answer; lock state unknown.")
    if state.holder is None and state.waiter is None:
        return mark_safe('<span class="cc-lock cc-lock-free">free</span>')
    parts = []
    if state.holder is not None:
        h = state.holder
        parts.append(
            format_html(
                '<span class="cc-lock cc-lock-held">held by {} (fence {}) since {}, '
                "expires {}</span>",
                request_link(h.request),
                h.fence,
                when(h.since),
                when(h.expires_at),
            )
        )
    if state.waiter is not None:
        w = state.waiter
        parts.append(
            format_html(
                '<span class="cc-lock cc-lock-waiter">waiting: {} since {}</span>',
                request_link(w.request),
                when(w.since),
            )
        )
    return format_html_join(BR, "{}", ((p,) for p in parts))


SHORT_URL = 40


def short_location(url: str, branch: str = "") -> SafeString:
    """A source's URL short enough for a list column: host and the repository's own name.

    ``https://git.example.com/srv/…/team/libfoo.git [main]``; the whole URL
    (credentials masked, as everywhere) is on hover.
    """
    shown = redact_text(url)
    short = shown.split("://", 1)[-1] if shown.startswith(("https://", "http://")) else shown
    if len(short) > SHORT_URL:
        head, _, path = short.partition("/")
        short = f"{head}/…/{path.rstrip('/').rsplit('/', 1)[-1]}"
    label = f"{short} [{branch}]" if branch else short
    return format_html('<span class="cc-url" title="{}">{}</span>', shown, label)
