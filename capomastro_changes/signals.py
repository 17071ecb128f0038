"""Keep each source's copied schedule fields in step with its dependencies."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from capomastro_changes.models import Dependency, SourceState


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
