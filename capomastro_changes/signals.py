"""Keep each source's copied schedule fields in step with its dependencies, and each
project's Jenkins views (when ``JENKINS_VIEWS`` is on) in step with its dependencies."""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from capomastro_changes.builds import dashboards
from capomastro_changes.conf import settings
from capomastro_changes.models import Dependency, Project, ProjectDependency, SourceState


@receiver(pre_save, sender=Dependency)
def remember_previous_source(sender, instance: Dependency, **kwargs) -> None:
    """Note the source a dependency had, so moving it refreshes the old source too."""
    if instance.pk:
        instance._previous_source_id = (
            Dependency.objects.filter(pk=instance.pk).values_list("source_id", flat=True).first()
        )


@receiver(post_save, sender=Dependency)
@receiver(post_delete, sender=Dependency)
def refresh_source_schedule(sender, instance: Dependency, **kwargs) -> None:
    """Recompute enabled / priority / interval for the sources this dependency touches."""
    source_ids = {instance.source_id, getattr(instance, "_previous_source_id", None)} - {None}
    for state in SourceState.objects.filter(source_id__in=source_ids).select_related("source"):
        state.refresh_from_dependencies()


@receiver(pre_save, sender=Project)
def remember_previous_name(sender, instance: Project, raw=False, **kwargs) -> None:
    """Note the name a project had, so a rename can take its old Jenkins view away."""
    instance._previous_name = None
    if instance.pk and not raw and settings.JENKINS_VIEWS:
        previous = Project.objects.filter(pk=instance.pk).values_list("name", flat=True)
        instance._previous_name = previous.first()


@receiver(post_save, sender=Project)
def sync_views_of_new_or_renamed_project(
    sender, instance: Project, created=False, raw=False, **kwargs
) -> None:
    """A new project gets its views; a renamed one gets them under its new name."""
    previous = getattr(instance, "_previous_name", None)
    renamed = previous is not None and previous != instance.name
    if not raw and settings.JENKINS_VIEWS and (created or renamed):
        dashboards.schedule_sync(instance.pk, old_name=previous if renamed else None)


@receiver(pre_delete, sender=Project)
def remember_view_servers(sender, instance: Project, **kwargs) -> None:
    """Note where a deleted project's views are, while its dependencies still say."""
    if settings.JENKINS_VIEWS:
        dependency_ids = instance.dependencies.values_list("pk", flat=True)
        instance._view_server_ids = dashboards.server_ids_of(dependency_ids)


@receiver(post_delete, sender=Project)
def drop_views_of_deleted_project(sender, instance: Project, **kwargs) -> None:
    """A deleted project's views go with it."""
    server_ids = getattr(instance, "_view_server_ids", None)
    if server_ids and settings.JENKINS_VIEWS:
        dashboards.schedule_sync(instance.pk, old_name=instance.name, server_ids=server_ids)


@receiver(post_save, sender=ProjectDependency)
@receiver(post_delete, sender=ProjectDependency)
def sync_views_of_changed_project(sender, instance: ProjectDependency, raw=False, **kwargs) -> None:
    """A dependency joined or left a project: its views list that many jobs more or less."""
    if not raw and settings.JENKINS_VIEWS:
        server_ids = dashboards.server_ids_of([instance.dependency_id])
        dashboards.schedule_sync(instance.project_id, server_ids=server_ids)


@receiver(m2m_changed, sender=ProjectDependency)
def sync_views_after_add(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """``project.dependencies.add()`` saves no ProjectDependency one by one: sync here.

    ``remove()`` and ``clear()`` delete rows one by one, which the handler above hears.
    """
    if action != "post_add" or not pk_set or not settings.JENKINS_VIEWS:
        return
    dependency_ids = [instance.pk] if reverse else sorted(pk_set)
    server_ids = dashboards.server_ids_of(dependency_ids)
    for project_id in sorted(pk_set) if reverse else [instance.pk]:
        dashboards.schedule_sync(project_id, server_ids=server_ids)
