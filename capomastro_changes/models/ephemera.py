"""Ephemera: archives of a dependency's expensive build state, and who made and used them.

An archive is *staged* while the build that sent it runs; the build's final
notification commits it (SUCCESS) or discards it (anything else). Only a
committed archive is ever restored; an invalidated one never again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

from capomastro_changes.models.capomastro import Build, Dependency
from capomastro_changes.models.requests import RebuildRequest

GiB = 1 << 30


class EphemeraPolicy(models.Model):
    """What a dependency's builds may do with ephemera, and how much they may keep."""

    OFF = "off"
    RESTORE = "restore"
    PERSIST = "persist"
    MODES = (
        (OFF, "off: builds neither restore nor persist"),
        (RESTORE, "restore only: builds use what is kept, keep nothing new"),
        (PERSIST, "persist and restore"),
    )

    dependency = models.OneToOneField(
        Dependency, on_delete=models.CASCADE, related_name="ephemera_policy"
    )
    mode = models.CharField(max_length=10, choices=MODES, default=PERSIST)
    max_size = models.PositiveBigIntegerField(
        default=2 * GiB, help_text="Bytes one set may hold, unpacked and packed."
    )
    allow_fallback = models.BooleanField(
        default=False,
        help_text="A build whose key finds nothing may restore the set's newest archive "
        "made with another key (like restore-keys).",
    )

    class Meta:
        verbose_name_plural = "ephemera policies"

    @classmethod
    def of(cls, dependency_id: int) -> EphemeraPolicy:
        """The dependency's policy (an unsaved "off" one when none was set)."""
        found = cls.objects.filter(dependency_id=dependency_id).first()
        return found or cls(dependency_id=dependency_id, mode=cls.OFF)

    def __str__(self) -> str:
        return f"{self.dependency}: {self.get_mode_display()}"


class EphemeraGrant(models.Model):
    """A build's token: the right to read and stage its dependency's ephemera, for a while.

    Only the SHA-256 of the token is kept; the token itself goes to Jenkins once,
    as a password parameter.
    """

    request = models.OneToOneField(
        RebuildRequest, on_delete=models.CASCADE, related_name="ephemera_grant"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def mint(cls, request: RebuildRequest, lifetime: timedelta) -> str:
        """A new token for ``request`` (replacing any earlier one); returned once, never kept."""
        token = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            request=request,
            defaults={"token_hash": cls.hash(token), "expires_at": timezone.now() + lifetime},
        )
        return token


class Ephemeron(models.Model):
    """One archive of one set of a dependency, from the build that made it."""

    STAGED = "staged"
    COMMITTED = "committed"
    DISCARDED = "discarded"
    INVALIDATED = "invalidated"
    EVICTED = "evicted"
    STATES = tuple((s, s) for s in (STAGED, COMMITTED, DISCARDED, INVALIDATED, EVICTED))

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="ephemera")
    name = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=STATES, default=STAGED)
    paths = models.JSONField(default=list)
    storage_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(help_text="Bytes of the archive.")
    unpacked_size = models.PositiveBigIntegerField(help_text="Bytes of its files, unpacked.")
    sha256 = models.CharField(max_length=64)
    made_by_request = models.ForeignKey(
        RebuildRequest, on_delete=models.SET_NULL, null=True, related_name="ephemera_made"
    )
    made_by = models.ForeignKey(
        Build, on_delete=models.SET_NULL, null=True, blank=True, related_name="ephemera_made"
    )
    created_at = models.DateTimeField(default=timezone.now)
    committed_at = models.DateTimeField(null=True, blank=True)
    last_restored_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_why = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "ephemera"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["dependency", "name", "state", "-committed_at"])]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.dependency})"

    def made_by_text(self) -> str:
        """``job #12 at 2026-12-04 05:01 UTC``, or why there is no build to name."""
        if self.made_by is None:
            return "a build not recorded here"
        at = timezone.localtime(self.committed_at or self.created_at)
        return f"{self.made_by} at {at:%Y-%m-%d %H:%M %Z}"


class EphemeronUse(models.Model):
    """A build's use of an archive: one it restored (or refused), or one it persisted."""

    RESTORED = "restored"
    PERSISTED = "persisted"
    KINDS = ((RESTORED, RESTORED), (PERSISTED, PERSISTED))

    ephemeron = models.ForeignKey(Ephemeron, on_delete=models.CASCADE, related_name="uses")
    request = models.ForeignKey(
        RebuildRequest, on_delete=models.CASCADE, related_name="ephemera_uses"
    )
    kind = models.CharField(max_length=10, choices=KINDS)
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(
        max_length=10, blank=True, help_text="ok, or refused (the builder said why)."
    )
    why = models.CharField(max_length=500, blank=True)
    used_invalidated = models.BooleanField(
        default=False, help_text="The archive was invalidated while this build used it."
    )

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ephemeron", "request", "kind"], name="ephemeron_use_once_per_build"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ephemeron}"

    def summary(self) -> str:
        """One line for a build page or description: what was used, which archive, from whom."""
        archive = self.ephemeron
        what = self.kind
        if self.kind == self.RESTORED:
            what = {"ok": "restored", "refused": "refused"}.get(self.outcome, "downloaded")
        text = (
            f"ephemera {what} {archive.name} (key {archive.key[:12]}…): "
            f"{archive.unpacked_size} bytes, sha256 {archive.sha256}"
        )
        if self.kind == self.RESTORED:
            text += f", made by {archive.made_by_text()}"
        if self.outcome == "refused" and self.why:
            text += f"; refused: {self.why}"
        if self.used_invalidated:
            text += "; the archive was invalidated while this build used it"
        return text
