"""Ephemera in the admin: the archives kept (and invalidating them), each dependency's
policy, and on build and project-build pages the sets each build restored and persisted.

Download links point at the archive endpoint, which serves staff with the view
permission on ephemera and nobody else without a build's token.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from capomastro_changes.admin import badges
from capomastro_changes.admin.lists import ListsFit
from capomastro_changes.admin.records import ReadOnlyAdmin
from capomastro_changes.builds.ephemera.housekeeping import invalidate
from capomastro_changes.models import EphemeraPolicy, Ephemeron, EphemeronUse


def download_link(archive: Ephemeron):
    """A link to the archive's bytes, or why there are none."""
    if not archive.storage_name:
        return format_html("({})", archive.state)
    url = reverse("capomastro_changes:ephemera-archive", args=[archive.pk])
    return format_html('<a href="{}" class="cc-ephemera">download</a>', url)


def uses_html(uses) -> str:
    """One line per set a build restored or persisted, each with its download link."""
    rows = [(use.summary(), download_link(use.ephemeron)) for use in uses]
    return format_html_join(badges.BR, "{} {}", rows) or "none"


def uses_of(condition: Q):
    return EphemeronUse.objects.select_related("ephemeron__made_by__job").filter(condition)


@admin.register(Ephemeron)
class EphemeronAdmin(ReadOnlyAdmin):
    list_display = (
        "name", "dependency", "short_key", "state", "size", "made_by", "committed",
        "last_restored", "download",
    )  # fmt: skip
    list_filter = ("state", "name")
    search_fields = ("name", "dependency__name", "sha256")
    list_select_related = ("dependency", "made_by__job")
    fields = (
        "name", "dependency", "key", "state", "paths", "size", "unpacked_size", "sha256",
        "made_by", "made_by_request", "created_at", "committed_at", "last_restored_at",
        "ended_at", "ended_why", "download", "used_by",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["invalidate_archives"]

    def has_invalidate_permission(self, request) -> bool:
        return request.user.has_perm("capomastro_changes.change_ephemeron")

    @admin.action(description="Invalidate: never restore again", permissions=["invalidate"])
    def invalidate_archives(self, request, queryset):
        count = invalidate(queryset, by=f"{request.user.get_username()} (admin)")
        messages.success(request, f"{count} archive(s) invalidated; they will not be restored.")

    @admin.display(description="key")
    def short_key(self, obj):
        return f"{obj.key[:12]}…"

    @admin.display(description="committed", ordering="committed_at")
    def committed(self, obj):
        return badges.when(obj.committed_at)

    @admin.display(description="last restored", ordering="last_restored_at")
    def last_restored(self, obj):
        return badges.when(obj.last_restored_at)

    @admin.display(description="archive")
    def download(self, obj):
        return download_link(obj)

    @admin.display(description="used by")
    def used_by(self, obj):
        uses = obj.uses.select_related("request__build__job").order_by("at")
        rows = [(u.kind, u.outcome or "—", str(u.request.build or f"request #{u.request_id}"))
                for u in uses]  # fmt: skip
        return format_html_join(badges.BR, "{} ({}) by {}", rows) or "none"


@admin.register(EphemeraPolicy)
class EphemeraPolicyAdmin(ListsFit, admin.ModelAdmin):
    list_display = ("dependency", "mode", "max_size", "allow_fallback")
    list_filter = ("mode", "allow_fallback")
    search_fields = ("dependency__name",)
    raw_id_fields = ("dependency",)
