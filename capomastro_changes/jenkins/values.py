"""What Jenkins answers, as frozen values: queue items, builds, artifacts, parameters.

Pure readers of Jenkins' JSON, apart from the client so they can be used and
tested without python-jenkins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import quote

PARAMETER_NAMES = ("BUILD_ID", "REVISION", "PREVIOUS_REVISION", "REASON", "REQUEST_ID")


@dataclass(frozen=True)
class BuildParameters:
    """What every build we trigger is told, under the names the job templates declare.

    Attributes:
        build_id: capomastro's project build id (Jenkins parameter ``BUILD_ID``).
        revision: the revision to build.
        previous_revision: the revision built last time ("" for the first build).
        reason: why it is built, for people reading the build page.
        request_id: our rebuild request, to match notifications back to it.
        ephemera_url, ephemera_token: where the build's ``bygmester-ephemera``
            finds the server, and the build's own token (a password parameter
            in the template: Jenkins never shows or notifies its value). Both
            are left out when the dependency keeps no ephemera.
    """

    build_id: int | str
    revision: str
    previous_revision: str = ""
    reason: str = ""
    request_id: int | str = ""
    ephemera_url: str = ""
    ephemera_token: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, str]:
        """The parameters as Jenkins receives them."""
        values = (self.build_id, self.revision, self.previous_revision, self.reason)
        found = dict(zip(PARAMETER_NAMES, [str(v) for v in (*values, self.request_id)]))
        if self.ephemera_token:
            found.update(EPHEMERA_URL=self.ephemera_url, EPHEMERA_TOKEN=self.ephemera_token)
        return found


@dataclass(frozen=True)
class QueuedBuild:
    """Jenkins' answer to a trigger; ``queue_id`` is None if the duplicate already started."""

    job: str
    queue_id: int | None
    already_queued: bool = False


@dataclass(frozen=True)
class QueueItem:
    """A queue item: waiting (and why), cancelled, or left with the build it became."""

    queue_id: int
    job: str
    waiting: bool
    why: str | None = None
    cancelled: bool = False
    build_number: int | None = None
    build_url: str | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Artifact:
    """An archived file of a build: its path in the archive, and where it can be fetched.

    The one artifact value: read from Jenkins' JSON API here, and from a
    notification in :mod:`capomastro_changes.builds.notifications`, whose
    plugin can name more than one location (``locations``; ``url`` is the
    archive's, else the first).
    """

    path: str
    url: str | None
    locations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class BuildInfo:
    """A build as Jenkins reports it; ``result`` is None while it runs."""

    job: str
    number: int
    building: bool
    result: str | None
    url: str
    description: str | None = None
    display_name: str | None = None
    queue_id: int | None = None
    timestamp: int | None = None
    duration: int | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True)
class RunningBuild:
    """A build an executor is running right now."""

    job: str
    number: int
    url: str
    node: str
    executor: int


def parameters_of(parameters) -> dict[str, str]:
    """The trigger's parameters as strings; python-jenkins takes an empty dict as "none"."""
    if isinstance(parameters, BuildParameters):
        return parameters.as_dict()
    values = {str(k): str(v) for k, v in dict(parameters).items()}
    if not values:
        raise ValueError("a trigger needs at least one parameter")
    return values


def _parameters_in(actions) -> Mapping[str, str]:
    found = {}
    for action in actions or ():
        for parameter in (action or {}).get("parameters") or ():
            if "value" in parameter:  # a password's value is never exported: left out
                found[parameter["name"]] = parameter_text(parameter["value"])
    return MappingProxyType(found)


def parameter_text(value) -> str:
    """A parameter value read by its type, as the build sees it in its environment.

    Jenkins exports a ``BooleanParameterValue`` as a JSON boolean: ``true`` is
    "true" (``str()`` would say "True"); a password's value is absent: "".
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def queue_item_from_json(data: dict) -> QueueItem:
    """Read ``queue/item/N/api/json`` (or an element of ``queue/api/json``)."""
    executable = data.get("executable") or {}
    return QueueItem(
        queue_id=int(data["id"]),
        job=data["task"]["name"],
        waiting=not data.get("_class", "").endswith("$LeftItem"),
        why=data.get("why"),
        cancelled=bool(data.get("cancelled")),
        build_number=executable.get("number"),
        build_url=executable.get("url"),
        parameters=_parameters_in(data.get("actions")),
    )


def build_from_json(job: str, data: dict) -> BuildInfo:
    """Read ``job/X/N/api/json``."""
    url = data["url"]
    return BuildInfo(
        job=job,
        number=int(data["number"]),
        building=bool(data.get("building")),
        result=data.get("result"),
        url=url,
        description=data.get("description"),
        display_name=data.get("displayName"),
        queue_id=data.get("queueId"),
        timestamp=data.get("timestamp"),
        duration=data.get("duration"),
        parameters=_parameters_in(data.get("actions")),
        artifacts=tuple(
            Artifact(a["relativePath"], f"{url}artifact/{quote(a['relativePath'])}")
            for a in data.get("artifacts") or ()
        ),
    )
