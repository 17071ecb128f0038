"""Sources and dependencies: what was found, why it did (not) build, who holds the lock.

A source is a repository branch shared by its dependencies; the build lock,
busy policy and enabled switch belong to each dependency. Both lists show
the last check as a coloured badge (its error on hover) and the live lock.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from capomastro_changes.admin import actions, badges, panels
from capomastro_changes.admin.lists import ListsFit
from capomastro_changes.admin.locking import read_lock
from capomastro_changes.admin.schedules import ScheduleLinksMixin
from capomastro_changes.models import ChainLink, Dependency, RebuildRequest, Source
from capomastro_changes.models.lag import lags
from capomastro_changes.redaction import redact_url
from capomastro_changes.vcs.identity import url_key


class RedactedURLForm(forms.ModelForm):
    """A form whose ``url`` never shows its password: ``***`` stands in, and is kept on save."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "url" in self.fields:
            self.initial["url"] = redact_url(self.instance.url)
            self.fields[
                "url"
            ].help_text = "A password in the URL shows as ***; leave it to keep it."

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk and url == redact_url(self.instance.url):
            return self.instance.url
        return url


class SourceForm(RedactedURLForm):
    class Meta:
        model = Source
        fields = ("vcs", "url", "branch")


def _state(source):
    return getattr(source, "state", None)


class URLSearchMixin:
    """Search finds a source by its URL as written: with ``.git``, credentials, a trailing ``/``.

    Sources are stored under their :func:`url_key`, which drops those, so a
    pasted URL is normalised the same way before it is looked for (as well as
    searched for as typed, so names and fragments still match).
    """

    url_key_lookup = "url_key"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        key = url_key(term) if term else ""
        if key and key != term:
            found |= queryset.filter(**{f"{self.url_key_lookup}__icontains": key})
        return found, may_have_duplicates


@admin.register(Source)
class SourceAdmin(
    ListsFit, URLSearchMixin, actions.ActionPermissions, ScheduleLinksMixin, admin.ModelAdmin
):
    form = SourceForm
    list_display = (
        "location", "used_by", "vcs", "last_revision", "outcome", "next_check", "locks",
    )  # fmt: skip
    list_filter = ("state__last_outcome", "vcs", "dependencies__busy_policy", "state__enabled")
    search_fields = ("url_key", "dependencies__name")
    list_select_related = ("state",)
    readonly_fields = ("state_panel", "dependencies_panel", "checks_panel", "requests_panel")
    actions = [
        actions.check_now, actions.rebuild_now, actions.release_lock,
        actions.enable, actions.disable,
    ]  # fmt: skip

    def get_fieldsets(self, request, obj=None):
        where = (None, {"fields": ("vcs", "url", "branch")})
        if obj is None:
            return [where]
        return [
            where,
            ("Last check", {"fields": ("state_panel",)}),
            ("Dependencies and their build locks", {"fields": ("dependencies_panel",)}),
            ("Check history", {"fields": ("checks_panel",)}),
            ("Rebuild requests", {"fields": ("requests_panel",)}),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("dependencies")

    def selected_sources(self, queryset):
        return queryset

    def selected_dependencies(self, queryset):
        return Dependency.objects.filter(source__in=queryset)

    @admin.display(description="URL", ordering="url_key")
    def location(self, obj):
        return badges.short_location(obj.url, obj.branch)

    @admin.display(description="used by")
    def used_by(self, obj):
        names = sorted(dep.name for dep in obj.dependencies.all())
        return ", ".join(names) or badges.NONE

    @admin.display(description="last revision")
    def last_revision(self, obj):
        state = _state(obj)
        return badges.short_revision(state.last_revision, state.last_revno) if state else "—"

    @admin.display(description="last check", ordering="state__last_checked_at")
    def outcome(self, obj):
        state = _state(obj)
        return badges.outcome_badge(state.last_outcome, state.last_error) if state else "—"

    @admin.display(description="last changed", ordering="state__last_changed_at")
    def last_changed(self, obj):
        return badges.when(_state(obj) and obj.state.last_changed_at)

    @admin.display(description="next check", ordering="state__next_check_at")
    def next_check(self, obj):
        state = _state(obj)
        return badges.when(state.next_check_at) if state and state.enabled else "disabled"

    @admin.display(description="enabled", boolean=True)
    def enabled(self, obj):
        return bool(_state(obj) and obj.state.enabled)

    @admin.display(description="build locks")
    def locks(self, obj):
        deps = sorted(obj.dependencies.all(), key=lambda d: d.name)
        return panels.format_html_join(
            badges.BR,
            "{}: {}",
            ((dep.name, badges.lock_summary(read_lock(dep.pk))) for dep in deps),
        )

    @admin.display(description="state")
    def state_panel(self, obj):
        return panels.state_panel(_state(obj))

    @admin.display(description="dependencies")
    def dependencies_panel(self, obj):
        return panels.dependencies_panel(obj)

    @admin.display(description="newest checks")
    def checks_panel(self, obj):
        return panels.checks_panel(obj)

    @admin.display(description="newest requests")
    def requests_panel(self, obj):
        return panels.requests_panel(RebuildRequest.objects.filter(dependency__source=obj))


class ChainLinkInline(admin.TabularInline):
    model = ChainLink
    fk_name = "dependency"
    extra = 0
    verbose_name = "upstream dependency"


class BehindFilter(admin.SimpleListFilter):
    """Dependencies behind their source's tip (computed, as the "behind" column is)."""

    title = "behind its source"
    parameter_name = "behind"

    def lookups(self, request, model_admin):
        return (("yes", "behind"), ("no", "at the tip"))

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        deps = list(queryset.select_related("source__state"))
        behind = [pk for pk, lag in lags(deps).items() if lag.behind]
        if self.value() == "yes":
            return queryset.filter(pk__in=behind)
        return queryset.exclude(pk__in=behind)


@admin.register(Dependency)
class DependencyAdmin(
    ListsFit, URLSearchMixin, actions.ActionPermissions, ScheduleLinksMixin, admin.ModelAdmin
):
    list_display = (
        "name", "location", "last_revision", "outcome", "lock", "behind", "busy_policy",
    )  # fmt: skip
    list_filter = (
        "source__state__last_outcome", "source__vcs", "busy_policy", "changes_enabled",
        BehindFilter,
    )  # fmt: skip
    search_fields = ("name", "source__url_key")
    url_key_lookup = "source__url_key"
    list_select_related = ("job", "source__state")
    readonly_fields = (
        "last_built_revision",
        "last_built_revno",
        "behind_source",
        "state_panel",
        "lock_panel",
        "requests_panel",
    )
    inlines = [ChainLinkInline]
    actions = [
        actions.check_now, actions.rebuild_now, actions.release_lock,
        actions.enable, actions.disable,
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            readonly += ("parameter_names",)
        return readonly

    def get_fields(self, request, obj=None):
        """Who may not change the parameters sees their names, not their values.

        A parameter may carry a token (capomastro kept them in clear): only
        whoever may change it may read it back.
        """
        fields = list(super().get_fields(request, obj))
        if "parameter_names" in fields:
            fields.remove("parameter_names")
            fields[fields.index("parameters")] = "parameter_names"
        return fields

    @admin.display(description="parameters")
    def parameter_names(self, obj):
        names = [line.split("=", 1)[0].strip() for line in obj.parameters.splitlines()]
        return "\n".join(f"{name}=***" for name in names if name) or badges.NONE

    def get_fieldsets(self, request, obj=None):
        own = [f for f in self.get_fields(request, obj) if not f.endswith("_panel")]
        if obj is None:
            return [(None, {"fields": own})]
        return [
            (None, {"fields": own}),
            ("Source", {"fields": ("state_panel",)}),
            ("Build lock (live, from Redis)", {"fields": ("lock_panel",)}),
            ("Rebuild requests", {"fields": ("requests_panel",)}),
        ]

    def selected_sources(self, queryset):
        return Source.objects.filter(dependencies__in=queryset).distinct()

    def selected_dependencies(self, queryset):
        return Dependency.objects.filter(pk__in=queryset.values("pk"))

    def _source_state(self, obj):
        return _state(obj.source) if obj.source_id else None

    @admin.display(description="VCS", ordering="source__vcs")
    def vcs(self, obj):
        return obj.source.vcs if obj.source_id else "—"

    @admin.display(description="source", ordering="source__url_key")
    def location(self, obj):
        if not obj.source_id:
            return badges.NONE
        return badges.short_location(obj.source.url, obj.source.branch)

    @admin.display(description="branch")
    def branch(self, obj):
        return obj.source.branch if obj.source_id else "—"

    @admin.display(description="last revision")
    def last_revision(self, obj):
        state = self._source_state(obj)
        return badges.short_revision(state.last_revision, state.last_revno) if state else "—"

    @admin.display(description="last check", ordering="source__state__last_checked_at")
    def outcome(self, obj):
        state = self._source_state(obj)
        return badges.outcome_badge(state.last_outcome, state.last_error) if state else "—"

    @admin.display(description="last changed", ordering="source__state__last_changed_at")
    def last_changed(self, obj):
        state = self._source_state(obj)
        return badges.when(state.last_changed_at if state else None)

    @admin.display(description="next check", ordering="source__state__next_check_at")
    def next_check(self, obj):
        state = self._source_state(obj)
        if not (state and obj.changes_enabled):
            return "disabled"
        return badges.when(state.next_check_at)

    @admin.display(description="build lock")
    def lock(self, obj):
        return badges.lock_summary(read_lock(obj.pk))

    def get_changelist_instance(self, request):
        """The page's dependencies get their lag in a few queries, not a few per row."""
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        for dep, lag in zip(rows, lags(rows).values()):
            dep.lag = lag
        return changelist

    @admin.display(description="behind its source")
    def behind(self, obj):
        lag = getattr(obj, "lag", None) or lags([obj])[obj.pk]
        return badges.lag_badge(lag)

    @admin.display(description="behind its source")
    def behind_source(self, obj):
        return panels.lag_panel(lags([obj])[obj.pk])

    @admin.display(description="source state")
    def state_panel(self, obj):
        return panels.state_panel(self._source_state(obj))

    @admin.display(description="lock")
    def lock_panel(self, obj):
        return badges.lock_summary(read_lock(obj.pk))

    @admin.display(description="newest requests")
    def requests_panel(self, obj):
        more = panels.changelist_link(
            RebuildRequest, "all requests, newest first", dependency__id__exact=obj.pk
        )
        return panels.requests_panel(obj.rebuild_requests.all(), more)
