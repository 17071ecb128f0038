"""capomastro's own concepts, carried here because capomastro is not installable.

Modelled on capomastro's ``jenkins`` and ``projects`` tables: a Jenkins server,
job types and jobs, builds and their artifacts, dependencies, projects and
project builds. The change-tracking fields a dependency needs (its source, busy
policy, check interval) sit on :class:`Dependency` itself.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from capomastro_changes.models.counters import DailyCounter
from capomastro_changes.models.fields import URLField
from capomastro_changes.validators import validate_probe_script


class JenkinsServer(models.Model):
    """A Jenkins to build on. The API token and notification secret are never shown."""

    name = models.CharField(max_length=100, unique=True)
    url = URLField(max_length=255)
    username = models.CharField(max_length=100, blank=True)
    api_token = models.CharField(max_length=255, blank=True, help_text="Kept secret.")
    notification_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text="Shared with the Notification plugin endpoint URL; kept secret.",
    )
    max_builds_in_flight = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Builds this system may run here at once; empty: the global setting.",
    )

    def __str__(self) -> str:
        return self.name


class JobType(models.Model):
    """A kind of job: its Jenkins config.xml template and how its sources are probed."""

    PROBE_IN_PROCESS = "in_process"
    PROBE_SCRIPT = "script"
    PROBE_JENKINS = "jenkins"
    PROBE_CHOICES = (
        (PROBE_IN_PROCESS, "in-process (dulwich / breezy)"),
        (PROBE_SCRIPT, "bygmester probe script, run here"),
        (PROBE_JENKINS, "bygmester probe script, through Jenkins in LXC"),
    )

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    config_xml = models.TextField(help_text="Jenkins config.xml template for jobs of this type.")
    bygmester_branch = models.CharField(
        max_length=255,
        blank=True,
        help_text="The job type's bygmester branch (a local checkout for script probes).",
    )
    probe_runner = models.CharField(max_length=20, choices=PROBE_CHOICES, default=PROBE_IN_PROCESS)
    probe_script = models.CharField(
        max_length=255,
        default="probe",
        validators=[validate_probe_script],
        help_text="Path of the probe script inside the bygmester branch (relative, no '..').",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(probe_runner__in=["in_process", "script", "jenkins"]),
                name="jobtype_known_probe_runner",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Job(models.Model):
    """A Jenkins job of a job type on one server."""

    server = models.ForeignKey(JenkinsServer, on_delete=models.PROTECT, related_name="jobs")
    jobtype = models.ForeignKey(JobType, on_delete=models.PROTECT, related_name="jobs")
    name = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server", "name"], name="job_unique_name_per_server")
        ]

    def __str__(self) -> str:
        return self.name


class Build(models.Model):
    """One Jenkins build of a job, as the Notification plugin and the API report it."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="builds")
    number = models.PositiveIntegerField()
    phase = models.CharField(max_length=20, default="QUEUED")
    status = models.CharField(max_length=20, blank=True)
    url = URLField(max_length=500, blank=True)
    revision = models.CharField(max_length=255, blank=True)
    revno = models.PositiveIntegerField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    duration = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Milliseconds, as Jenkins reports it."
    )
    fence = models.BigIntegerField(null=True, blank=True, help_text="Lock fence of the holder.")
    queue_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The Jenkins queue item it came from."
    )
    unexpected = models.BooleanField(
        default=False,
        help_text="It claimed a rebuild request Jenkins never gave it; it moved nothing.",
    )
    requested_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="build_unique_number_per_job")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.job.name} #{self.number}"


class Artifact(models.Model):
    """A file a build archived."""

    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="artifacts")
    filename = models.CharField(max_length=255)
    url = URLField(max_length=500)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=128, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["build", "filename"], name="artifact_unique_per_build")
        ]

    def __str__(self) -> str:
        return self.filename


class Dependency(models.Model):
    """Something a project is built from: a job, its parameters, and where its source lives."""

    POLICY_QUEUE = "queue"
    POLICY_DISCARD = "discard"
    POLICY_FAIL = "fail"
    POLICY_SUPERSEDE = "supersede"
    POLICY_CHOICES = (
        (POLICY_QUEUE, "queue: build the newest change after the current build"),
        (POLICY_DISCARD, "discard: skip quietly while building"),
        (POLICY_FAIL, "fail: record an error while building"),
        (POLICY_SUPERSEDE, "supersede: replace a build still waiting in Jenkins"),
    )

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="dependencies")
    parameters = models.TextField(blank=True, help_text="KEY=VALUE lines passed to every build.")
    priority = models.IntegerField(default=0, help_text="Higher builds first.")
    source = models.ForeignKey(
        "capomastro_changes.Source",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependencies",
    )
    changes_enabled = models.BooleanField(
        default=True, help_text="Check the source and rebuild on change."
    )
    busy_policy = models.CharField(max_length=20, choices=POLICY_CHOICES, default=POLICY_QUEUE)
    check_interval = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(10)],
        help_text="Seconds between checks; empty: the global default.",
    )
    last_built_revision = models.CharField(max_length=255, blank=True)
    last_built_revno = models.PositiveIntegerField(null=True, blank=True)
    upstreams = models.ManyToManyField(
        "self",
        through="capomastro_changes.ChainLink",
        symmetrical=False,
        related_name="downstreams",
        blank=True,
    )

    class Meta:
        verbose_name_plural = "dependencies"
        constraints = [
            models.CheckConstraint(
                condition=Q(busy_policy__in=["queue", "discard", "fail", "supersede"]),
                name="dependency_known_busy_policy",
            ),
            models.CheckConstraint(
                condition=Q(check_interval__isnull=True) | Q(check_interval__gte=10),
                name="dependency_check_interval_at_least_10s",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """A set of dependencies built together."""

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=0, help_text="Higher builds first.")
    dependencies = models.ManyToManyField(
        Dependency, through="ProjectDependency", related_name="projects"
    )

    def __str__(self) -> str:
        return self.name


class ProjectDependency(models.Model):
    """A dependency of a project: tracked automatically or not, and its current build."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE)
    auto_track = models.BooleanField(default=True)
    current_build = models.ForeignKey(
        Build, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "project dependencies"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "dependency"], name="projectdependency_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} / {self.dependency}"


class ProjectBuild(models.Model):
    """A complete build of a project: every dependency rebuilt or linked to its current build."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="builds")
    build_key = models.CharField(
        max_length=20, unique=True, help_text="Daily id, YYYYMMDD.N, as capomastro numbers them."
    )
    requested_by = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, default="UNKNOWN")
    phase = models.CharField(max_length=20, default="QUEUED")
    rebuild_request = models.ForeignKey(
        "capomastro_changes.RebuildRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="project_builds",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project} {self.build_key}"

    @staticmethod
    def allocate_keys(count: int, day=None) -> list[str]:
        """Reserve ``count`` daily ids (``YYYYMMDD.N``) in one atomic step."""
        return DailyCounter.allocate(count, day)


class ProjectBuildDependency(models.Model):
    """One dependency of a project build: the build it used, rebuilt for it or linked."""

    projectbuild = models.ForeignKey(
        ProjectBuild, on_delete=models.CASCADE, related_name="dependency_builds"
    )
    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="+")
    build = models.ForeignKey(
        Build, on_delete=models.SET_NULL, null=True, blank=True, related_name="project_uses"
    )
    rebuilt = models.BooleanField(
        default=False, help_text="Built for this project build (else linked to an older build)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projectbuild", "dependency"], name="projectbuilddependency_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.projectbuild} / {self.dependency}"
