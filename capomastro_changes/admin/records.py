"""The kept records, read-only: the check history and the rebuild requests.

Nobody edits history: requests move only through the engine (or the actions
on the sources and dependencies lists), so these pages only show. A
request's lock token is never shown; the page says whether it has one.
"""

from __future__ import annotations

from django.contrib import admin

from capomastro_changes.admin import badges, panels
from capomastro_changes.admin.lists import ListsFit
from capomastro_changes.admin.sources import URLSearchMixin
from capomastro_changes.models import CheckRecord, RebuildRequest


class ReadOnlyAdmin(ListsFit, admin.ModelAdmin):
    """Records written by the engine: viewable by staff, never added, changed or deleted here."""

    list_per_page = 50

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CheckRecord)
class CheckRecordAdmin(URLSearchMixin, ReadOnlyAdmin):
    list_display = (
        "started", "source_short", "outcome_badge", "old", "new", "took", "probe", "error_text",
    )  # fmt: skip
    list_filter = ("outcome", "source__vcs")
    search_fields = ("source__url_key", "source__dependencies__name")
    url_key_lookup = "source__url_key"
    list_select_related = ("source",)
    fields = (
        "source", "started", "outcome_badge", "old", "new", "took", "probe", "error_text",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return badges.when(obj.started_at)

    @admin.display(description="source", ordering="source__url_key")
    def source_short(self, obj):
        return badges.short_location(obj.source.url, obj.source.branch)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        return badges.outcome_badge(obj.outcome, obj.error)

    @admin.display(description="from")
    def old(self, obj):
        return badges.short_revision(obj.old_revision, obj.old_revno)

    @admin.display(description="to")
    def new(self, obj):
        return badges.short_revision(obj.new_revision, obj.new_revno)

    @admin.display(description="took", ordering="duration_ms")
    def took(self, obj):
        return f"{obj.duration_ms:.0f} ms"

    @admin.display(description="error")
    def error_text(self, obj):
        return badges.redact_text(obj.error)


@admin.register(RebuildRequest)
class RebuildRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "number", "dependency", "rev", "reason", "state_badge", "detail_text", "superseded",
        "build_link", "created",
    )  # fmt: skip
    list_filter = ("state", "reason", "dependency__busy_policy")
    search_fields = ("dependency__name", "revision", "requested_by")
    list_select_related = ("dependency", "build__job")
    fields = (
        "number", "dependency", "rev", "previous_revision", "reason", "state_badge",
        "detail_text", "waiting_for", "requested_by", "priority", "lock", "fence",
        "jenkins_queue_id", "build_link", "superseded", "superseded_others",
        "upstream_request", "again_for", "created", "updated_at", "project_builds_list",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="request", ordering="pk")
    def number(self, obj):
        return f"#{obj.pk}"

    @admin.display(description="revision")
    def rev(self, obj):
        return badges.short_revision(obj.revision, obj.revno)

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badges.request_badge(obj.state, obj.detail)

    @admin.display(description="detail")
    def detail_text(self, obj):
        return badges.redact_text(obj.detail)

    @admin.display(description="lock token")
    def lock(self, obj):
        return badges.secret_state(obj.lock_token)

    @admin.display(description="superseded by")
    def superseded(self, obj):
        if not obj.superseded_by_id:
            return badges.NONE
        return panels.admin_link(obj.superseded_by, f"#{obj.superseded_by_id}")

    @admin.display(description="it superseded")
    def superseded_others(self, obj):
        older = obj.superseded.order_by("-pk")
        return (
            panels.format_html_join(
                ", ", "{}", ((panels.admin_link(r, f"#{r.pk}"),) for r in older)
            )
            or badges.NONE
        )

    @admin.display(description="build")
    def build_link(self, obj):
        return panels.admin_link(obj.build) if obj.build_id else badges.NONE

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return badges.when(obj.created_at)

    @admin.display(description="project builds")
    def project_builds_list(self, obj):
        builds = obj.project_builds.select_related("project")
        return (
            panels.format_html_join(", ", "{}", ((panels.admin_link(b),) for b in builds))
            or badges.NONE
        )
