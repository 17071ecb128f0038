"""Sources (a repository and branch, shared by every dependency on it) and their stored state."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from capomastro_changes.models.querysets import SourceStateQuerySet
from capomastro_changes.redaction import redact_url
from capomastro_changes.validators import (
    VCS_CHOICES,
    validate_branch,
    validate_source_url,
    validate_url_policy,
)
from capomastro_changes.vcs.identity import branch_key, url_key

OUTCOMES = ("baseline", "unchanged", "changed", "rewritten", "missing", "error")
OUTCOME_CHOICES = tuple((name, name) for name in OUTCOMES)


class SourceManager(models.Manager):
    def for_location(self, vcs: str, url: str, branch: str = "") -> Source:
        """The one source for this repository and branch, created (validated) on first use."""
        candidate = Source(vcs=vcs, url=url.strip(), branch=branch.strip())
        candidate.full_clean(validate_unique=False, validate_constraints=False)
        existing = self.filter(
            vcs=vcs, url_key=candidate.url_key, branch_key=candidate.branch_key
        ).first()
        if existing:
            return existing
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:  # created by another process meanwhile
            return self.get(vcs=vcs, url_key=candidate.url_key, branch_key=candidate.branch_key)
        return candidate


class Source(models.Model):
    """A branch of a repository. Dependencies on the same one share it, and one probe."""

    vcs = models.CharField(
        max_length=3,
        choices=VCS_CHOICES,
        error_messages={"invalid_choice": "Unknown VCS %(value)r: choose git or bzr."},
    )
    url = models.CharField(
        max_length=500,
        validators=[validate_source_url],
        error_messages={"blank": "The source URL is empty."},
    )
    branch = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_branch],
        help_text="git: branch, full ref or tag; empty for the remote HEAD. bzr: usually empty.",
    )
    url_key = models.CharField(max_length=500, editable=False)
    branch_key = models.CharField(max_length=255, editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourceManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vcs", "url_key", "branch_key"], name="source_unique_location"
            ),
            models.CheckConstraint(condition=Q(vcs__in=["git", "bzr"]), name="source_known_vcs"),
            models.CheckConstraint(
                condition=~Q(url="") & ~Q(url__startswith="-"), name="source_url_not_option"
            ),
            models.CheckConstraint(
                condition=~Q(branch__contains="..") & ~Q(branch__startswith="-"),
                name="source_branch_safe",
            ),
        ]

    def __str__(self) -> str:
        where = redact_url(self.url)
        return f"{where} [{self.branch}]" if self.branch else where

    def clean(self) -> None:
        self.url_key = url_key(self.url) if self.url else ""
        self.branch_key = branch_key(self.branch)
        if self.vcs == "bzr" and self.branch and "/" in self.branch.strip("/"):
            raise ValidationError({"branch": "bzr branches are named by their URL; leave empty."})
        validate_url_policy(self.vcs, self.url, self.branch)

    def save(self, *args, **kwargs) -> None:
        self.url_key = url_key(self.url) if self.url else ""
        self.branch_key = branch_key(self.branch)
        super().save(*args, **kwargs)
        # A new source is due at once: its first check records the baseline.
        SourceState.objects.get_or_create(source=self, defaults={"next_check_at": timezone.now()})


class SourceState(models.Model):
    """What we last knew of a source, and when to look again.

    ``enabled``, ``priority`` and ``interval`` are copied from the source's
    dependencies (see :meth:`refresh_from_dependencies`) so that "which sources
    are due now" is one indexed query on this table alone.
    """

    source = models.OneToOneField(
        Source, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    last_revision = models.CharField(max_length=255, blank=True)
    last_revno = models.PositiveIntegerField(null=True, blank=True)
    last_outcome = models.CharField(max_length=20, blank=True, choices=OUTCOME_CHOICES)
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=False)
    priority = models.IntegerField(default=0)
    interval = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds.")

    objects = SourceStateQuerySet.as_manager()

    class Meta:
        indexes = [
            # Few due (a tick in the usual run): only the due rows are read, then sorted.
            models.Index(
                fields=["next_check_at"], condition=Q(enabled=True), name="sourcestate_due"
            ),
            # A backlog (all due after an outage): the first chunk is read in order,
            # instead of fetching and sorting every due row. The planner picks.
            models.Index(
                fields=["-priority", "next_check_at"],
                condition=Q(enabled=True),
                name="sourcestate_due_by_priority",
            ),
        ]

    def __str__(self) -> str:
        return f"state of {self.source}"

    def refresh_from_dependencies(self) -> None:
        """Copy enabled / priority / interval from the dependencies that use this source."""
        deps = list(
            self.source.dependencies.values("changes_enabled", "priority", "check_interval")
        )
        enabled = [d for d in deps if d["changes_enabled"]]
        self.enabled = bool(enabled)
        self.priority = max((d["priority"] for d in enabled), default=0)
        intervals = [d["check_interval"] for d in enabled if d["check_interval"]]
        self.interval = min(intervals) if intervals else None
        self.save(update_fields=["enabled", "priority", "interval"])
