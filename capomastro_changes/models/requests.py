"""Rebuild requests: the durable record of "build this dependency at this revision"."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from capomastro_changes.models.capomastro import Build, Dependency
from capomastro_changes.models.querysets import ACTIVE, FINAL, RebuildRequestQuerySet
from capomastro_changes.revisions import short_revision

REASONS = ("change", "rewritten", "manual", "full", "upstream")


class RebuildRequest(models.Model):
    """A request to rebuild one dependency, from detection to its final state.

    At most one *active* request exists per (dependency, revision): ticks,
    retries and extra workers can only find the existing one.
    """

    STATE_CHOICES = tuple((s, s) for s in ACTIVE + FINAL)
    REASON_CHOICES = tuple((r, r) for r in REASONS)

    dependency = models.ForeignKey(
        Dependency, on_delete=models.CASCADE, related_name="rebuild_requests"
    )
    revision = models.CharField(max_length=255, blank=True)
    revno = models.PositiveIntegerField(null=True, blank=True)
    previous_revision = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=20, choices=REASON_CHOICES)
    state = models.CharField(max_length=20, choices=STATE_CHOICES, default="pending")
    detail = models.TextField(blank=True, help_text="Why it is in this state, for operators.")
    waiting_for = models.CharField(
        max_length=10,
        blank=True,
        choices=(("lock", "the dependency's current build"), ("capacity", "a free build slot")),
    )
    priority = models.IntegerField(default=0)
    requested_by = models.CharField(max_length=100, blank=True)
    lock_token = models.CharField(max_length=64, blank=True)
    fence = models.BigIntegerField(null=True, blank=True)
    jenkins_queue_id = models.PositiveBigIntegerField(null=True, blank=True)
    build = models.ForeignKey(
        Build, on_delete=models.SET_NULL, null=True, blank=True, related_name="rebuild_requests"
    )
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="superseded"
    )
    keeps_ephemera = models.BooleanField(
        default=False, help_text="Its build was given an ephemera token (docs/ephemera.md)."
    )
    upstream_request = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="downstream_requests",
        help_text="The upstream rebuild whose success started this one (chain builds).",
    )
    again_for = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="An upstream rebuild that succeeded while this one was in flight: "
        "the dependency is built again for it when this one ends.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RebuildRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dependency", "revision"],
                condition=Q(state__in=ACTIVE),
                name="rebuildrequest_one_active_per_revision",
                violation_error_message=(
                    "There is already an active rebuild request for this dependency and revision."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state__in=ACTIVE + FINAL),
                name="rebuildrequest_known_state",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=REASONS), name="rebuildrequest_known_reason"
            ),
        ]
        indexes = [
            models.Index(
                fields=["-priority", "created_at"],
                condition=Q(state="waiting"),
                name="rebuildrequest_waiting",
            ),
        ]

    def __str__(self) -> str:
        rev = short_revision(self.revision, self.revno, "?")
        return f"{self.dependency} @ {rev} ({self.reason}, {self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE
