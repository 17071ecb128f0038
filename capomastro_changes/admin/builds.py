"""Projects, project builds, builds and artifacts: what each project build was made of.

A project build lists every dependency with the build it used, whether that
build was made for it (rebuilt) or is an older one it links to, and every
artifact of those builds.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html_join

from capomastro_changes.admin import badges, panels, project_picture
from capomastro_changes.admin.ephemera import uses_html, uses_of
from capomastro_changes.admin.lists import ListsFit
from capomastro_changes.admin.records import ReadOnlyAdmin
from capomastro_changes.builds import dashboards
from capomastro_changes.conf import settings
from capomastro_changes.models import (
    Artifact,
    Build,
    Project,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
)

SYNC_PROBLEMS = (dashboards.FAILED, dashboards.REFUSED)


def artifact_links(build: Build | None):
    if build is None:
        return badges.NONE
    links = format_html_join(
        badges.BR,
        "{}",
        ((badges.outside_link(a.url, a.filename, "cc-artifact"),) for a in build.artifacts.all()),
    )
    return links or "no artifacts"


class ProjectDependencyInline(admin.TabularInline):
    model = ProjectDependency
    extra = 0
    raw_id_fields = ("current_build",)


@admin.register(Project)
class ProjectAdmin(ListsFit, admin.ModelAdmin):
    list_display = ("name", "priority")
    search_fields = ("name",)
    inlines = [ProjectDependencyInline]
    actions = ["sync_jenkins_views"]
    readonly_fields = ("dependency_picture",)

    @admin.display(description="dependencies in its latest project build")
    def dependency_picture(self, obj):
        return project_picture.picture(obj) if obj.pk else badges.NONE

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not settings.JENKINS_VIEWS:  # nothing to sync: the action would only confuse
            actions.pop("sync_jenkins_views", None)
        return actions

    @admin.action(description="Sync Jenkins views now")
    def sync_jenkins_views(self, request, queryset):
        """Bring each selected project's list views in line now; say what happened per view."""
        for project in queryset.order_by("name"):
            for done in dashboards.sync_project(project.pk):
                where = f" on {done.server}" if done.server else ""
                level = messages.ERROR if done.outcome in SYNC_PROBLEMS else messages.SUCCESS
                self.message_user(
                    request, f"{project}: view {done.view!r}{where} {done.outcome}", level
                )


class ProjectBuildDependencyInline(admin.TabularInline):
    """Every dependency of the project build: its build, rebuilt or linked, and its artifacts."""

    model = ProjectBuildDependency
    extra = 0
    can_delete = False
    verbose_name = "dependency build"
    verbose_name_plural = "dependency builds: rebuilt for this project build, or linked"
    fields = ("dependency", "how", "build_link", "revision", "build_status", "artifacts")
    readonly_fields = fields

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("dependency", "build__job")
        return qs.prefetch_related("build__artifacts").order_by("dependency__name")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="rebuilt or linked")
    def how(self, obj):
        if obj.rebuilt:
            return badges.badge("rebuilt", "#205493", "Built for this project build.")
        return badges.badge("linked", "#666", "Links to the dependency's current (older) build.")

    @admin.display(description="build")
    def build_link(self, obj):
        return panels.admin_link(obj.build) if obj.build_id else "not built yet"

    @admin.display(description="revision")
    def revision(self, obj):
        return badges.short_revision(obj.build.revision, obj.build.revno) if obj.build_id else "—"

    @admin.display(description="status")
    def build_status(self, obj):
        return f"{obj.build.phase} {obj.build.status}".strip() if obj.build_id else "—"

    @admin.display(description="artifacts")
    def artifacts(self, obj):
        return artifact_links(obj.build)


@admin.register(ProjectBuild)
class ProjectBuildAdmin(ReadOnlyAdmin):
    list_display = (
        "build_key", "project", "status", "phase", "made_of", "reason", "requested_by",
        "requested",
    )  # fmt: skip
    list_filter = ("status", "phase", "project")
    search_fields = ("build_key", "project__name", "requested_by")
    list_select_related = ("project",)
    fields = (
        "build_key", "project", "status", "phase", "reason", "requested_by", "rebuild_request",
        "requested", "ended_at", "ephemera",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [ProjectBuildDependencyInline]

    @admin.display(description="dependencies")
    def made_of(self, obj):
        deps = obj.dependency_builds.all()
        rebuilt = sum(1 for d in deps if d.rebuilt)
        return f"{rebuilt} rebuilt, {len(deps) - rebuilt} linked"

    @admin.display(description="requested", ordering="requested_at")
    def requested(self, obj):
        return badges.when(obj.requested_at)

    @admin.display(description="ephemera")
    def ephemera(self, obj):
        if obj.rebuild_request_id is None:
            return badges.NONE
        return uses_html(uses_of(Q(request_id=obj.rebuild_request_id)))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("dependency_builds")


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    can_delete = False
    fields = ("link", "size", "checksum")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="file")
    def link(self, obj):
        return badges.outside_link(obj.url, obj.filename, "cc-artifact")


@admin.register(Build)
class BuildAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__", "phase", "status", "rev", "requested_by", "unexpected", "created",
    )  # fmt: skip
    list_filter = ("phase", "status", "unexpected")
    search_fields = ("job__name", "revision")
    list_select_related = ("job",)
    fields = (
        "job", "number", "phase", "status", "url", "rev", "fence", "queue_id", "unexpected",
        "requested_by", "parameters", "created_at", "updated_at", "ephemera",
    )  # fmt: skip
    readonly_fields = fields
    inlines = [ArtifactInline]

    @admin.display(description="revision")
    def rev(self, obj):
        return badges.short_revision(obj.revision, obj.revno)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return badges.when(obj.created_at)

    @admin.display(description="ephemera")
    def ephemera(self, obj):
        return uses_html(uses_of(Q(request__build=obj)))


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ("filename", "build", "size", "checksum")
    search_fields = ("filename", "build__job__name")
    list_select_related = ("build__job",)
