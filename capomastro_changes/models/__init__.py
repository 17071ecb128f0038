"""The app's tables: capomastro's own concepts, and the change-tracking records beside them."""

from capomastro_changes.models.capomastro import (
    Artifact,
    Build,
    Dependency,
    JenkinsServer,
    Job,
    JobType,
    Project,
    ProjectBuild,
    ProjectBuildDependency,
    ProjectDependency,
)
from capomastro_changes.models.chains import ChainLink
from capomastro_changes.models.checks import CheckRecord
from capomastro_changes.models.counters import DailyCounter
from capomastro_changes.models.ephemera import (
    EphemeraGrant,
    EphemeraPolicy,
    Ephemeron,
    EphemeronUse,
)
from capomastro_changes.models.requests import RebuildRequest
from capomastro_changes.models.sources import Source, SourceState

__all__ = [
    "Artifact",
    "Build",
    "ChainLink",
    "CheckRecord",
    "DailyCounter",
    "Dependency",
    "EphemeraGrant",
    "EphemeraPolicy",
    "Ephemeron",
    "EphemeronUse",
    "JenkinsServer",
    "Job",
    "JobType",
    "Project",
    "ProjectBuild",
    "ProjectBuildDependency",
    "ProjectDependency",
    "RebuildRequest",
    "Source",
    "SourceState",
]
