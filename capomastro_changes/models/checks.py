"""The kept history of checks: every probe of a source, whatever it found."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from capomastro_changes.models.sources import OUTCOME_CHOICES, Source


class CheckRecord(models.Model):
    """One check of one source: outcome, old and new revision, how long, which probe, why not."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="checks")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    outcome = models.CharField(max_length=20, choices=OUTCOME_CHOICES)
    old_revision = models.CharField(max_length=255, blank=True)
    new_revision = models.CharField(max_length=255, blank=True)
    old_revno = models.PositiveIntegerField(null=True, blank=True)
    new_revno = models.PositiveIntegerField(null=True, blank=True)
    probe = models.CharField(max_length=255, blank=True, help_text="Which probe answered.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["source", "-started_at"], name="checkrecord_by_source")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=[name for name, _ in OUTCOME_CHOICES]),
                name="checkrecord_known_outcome",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.outcome} at {self.started_at:%Y-%m-%d %H:%M:%S}"
