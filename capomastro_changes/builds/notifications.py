"""Reading Jenkins Notification-plugin payloads into build events.

Pure functions on bytes and dicts: no database, no HTTP. Every plugin version
since 1.5 is accepted: its phase names are normalised (``FINISHED``, from 1.5,
and ``FINALIZED``, from 1.6, both mean "the build is done"), its two artifact
shapes (1.6's ``{name: [url]}`` and 1.7's ``{name: {location: url}}``) are
read alike, and the fields later versions added are optional. Anything else
is rejected with :class:`BadNotification` and a message that says what and
where, because a notification that is half understood must move no state.

Every URL in a notification ends up as a link in the admin, so the build's
``full_url`` and every artifact location must be http(s): a ``javascript:``
or ``data:`` URL is refused with the rest of the notification (the reaper
then settles the build by asking Jenkins), never stored and never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from bygmester_hooks import bounds
from capomastro_changes.jenkins.values import Artifact

MAX_BODY_BYTES = 256 * 1024

QUEUED = "QUEUED"
STARTED = "STARTED"
COMPLETED = "COMPLETED"
FINALIZED = "FINALIZED"
PHASES = {QUEUED: QUEUED, STARTED: STARTED, COMPLETED: COMPLETED, FINALIZED: FINALIZED}
PHASES["FINISHED"] = FINALIZED  # notification <= 1.5 named the last phase FINISHED
# The parameter every build we trigger carries: which rebuild request asked for it.
REQUEST_PARAMETER = "REQUEST_ID"
RESULTS = frozenset({"SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED"})


class BadNotification(ValueError):
    """A payload that is not a Notification-plugin build event; the message says why."""


@dataclass(frozen=True)
class ScmInfo:
    """What the git plugin told the notification about the checkout (absent otherwise)."""

    url: str | None = None
    branch: str | None = None
    commit: str | None = None
    changes: tuple[str, ...] = ()
    culprits: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildEvent:
    """One notification: which build, which phase, and what is known of it so far."""

    job_name: str
    number: int
    phase: str
    raw_phase: str
    status: str | None = None
    full_url: str | None = None
    build_url: str | None = None
    job_url: str | None = None
    display_name: str | None = None
    queue_id: int | None = None
    timestamp: int | None = None
    duration: int | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    artifacts: tuple[Artifact, ...] = ()
    scm: ScmInfo | None = None

    @property
    def is_done(self) -> bool:
        """True for the last phase (FINALIZED, or FINISHED from plugin 1.5)."""
        return self.phase == FINALIZED


def parse_event(body: bytes | str) -> BuildEvent:
    """Read a notification's raw HTTP body.

    Raises:
        BadNotification: too large, not UTF-8, not JSON, or not a build event.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_BODY_BYTES:
        raise BadNotification(
            f"notification body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadNotification("notification body is not UTF-8 text") from None
    try:
        data = bounds.loads(text)
    except ValueError as exc:
        raise BadNotification(f"notification body is not JSON: {exc}") from None
    return event_from_dict(data)


def event_from_dict(data) -> BuildEvent:
    """Read an already decoded notification.

    Raises:
        BadNotification: a field is missing or of the wrong type.
    """
    _expect(data, dict, "the notification")
    build = _required(data, "build", dict, "")
    raw_phase = _required(build, "phase", str, "build.")
    phase = PHASES.get(raw_phase.upper())
    if phase is None:
        raise BadNotification(
            f"build.phase {_show(raw_phase)} is not a known phase; "
            f"expected one of {', '.join(sorted(PHASES))}"
        )
    status = _optional(build, "status", str, "build.")
    if status is not None and status not in RESULTS:
        raise BadNotification(
            f"build.status {_show(status)} is not a Jenkins result; "
            f"expected one of {', '.join(sorted(RESULTS))}"
        )
    number = _in_range(_required(build, "number", int, "build."), "build.number", 1, bounds.INT_MAX)
    return BuildEvent(
        job_name=_non_empty(_required(data, "name", str, ""), "name"),
        number=number,
        phase=phase,
        raw_phase=raw_phase,
        status=status,
        full_url=_url(_optional(build, "full_url", str, "build."), "build.full_url"),
        build_url=_optional(build, "url", str, "build."),
        job_url=_optional(data, "url", str, ""),
        display_name=_optional(data, "display_name", str, ""),
        queue_id=_big(_optional(build, "queue_id", int, "build."), "build.queue_id"),
        timestamp=_big(_optional(build, "timestamp", int, "build."), "build.timestamp"),
        duration=_big(_optional(build, "duration", int, "build."), "build.duration"),
        parameters=_parameters(build.get("parameters")),
        artifacts=_artifacts(build.get("artifacts")),
        scm=_scm(build.get("scm")),
    )


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KIND_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_WANTED = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


def _expect(value, kind: type, where: str):
    # bool is an int in Python but never a build number in JSON.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = _KIND_NAMES.get(type(value), type(value).__name__)
        raise BadNotification(f"{where} must be {_WANTED[kind]}, got {got} {_show(value)}")
    return value


def _required(data: dict, key: str, kind: type, prefix: str):
    if key not in data or data[key] is None:
        raise BadNotification(f"{prefix}{key} is missing")
    return _expect(data[key], kind, prefix + key)


def _optional(data: dict, key: str, kind: type, prefix: str):
    value = data.get(key)
    return None if value is None else _expect(value, kind, prefix + key)


def _non_empty(text: str, where: str) -> str:
    if not text.strip():
        raise BadNotification(f"{where} is empty")
    return text


def _in_range(value: int, where: str, low: int, high: int) -> int:
    """A number the database can hold, or a refusal naming it (before anything is stored)."""
    if not low <= value <= high:
        raise BadNotification(f"{where} must lie between {low} and {high}, got {_show(value)}")
    return value


def _big(value: int | None, where: str) -> int | None:
    return None if value is None else _in_range(value, where, 0, bounds.BIGINT_MAX)


def _url(value: str | None, where: str) -> str | None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise BadNotification(f"{where} {_show(value)} is not an http(s) URL")
    return value


def _parameters(value) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    _expect(value, dict, "build.parameters")
    for name, item in value.items():
        _expect(item, str, f"build.parameters.{name}")
    request_id = value.get(REQUEST_PARAMETER)
    if request_id and bounds.whole_number(request_id, bounds.BIGINT_MAX) is None:
        raise BadNotification(
            f"build.parameters.{REQUEST_PARAMETER} {_show(request_id)} is not a request number"
        )
    return MappingProxyType(dict(value))


def _artifacts(value) -> tuple[Artifact, ...]:
    if value is None:
        return ()
    _expect(value, dict, "build.artifacts")
    found = []
    for path, where in value.items():
        label = f"build.artifacts.{path}"
        if isinstance(where, list):  # notification 1.6: a list of URLs
            urls = {f"url{i}": _artifact_url(u, f"{label}[{i}]") for i, u in enumerate(where)}
            first = where[0] if where else None
        else:  # 1.7 and later: {location: url}, "archive" for Jenkins' own archive
            urls = {
                k: _artifact_url(u, f"{label}.{k}") for k, u in _expect(where, dict, label).items()
            }
            first = urls.get("archive") or next(iter(urls.values()), None)
        found.append(Artifact(path=path, url=first, locations=MappingProxyType(urls)))
    return tuple(found)


def _artifact_url(value, where: str) -> str:
    """An artifact location: a string, and an http(s) URL, as the build's own URL must be."""
    return _url(_expect(value, str, where), where)


def _scm(value) -> ScmInfo | None:
    if value is None:
        return None
    _expect(value, dict, "build.scm")

    def strings(key: str) -> tuple[str, ...]:
        items = _optional(value, key, list, "build.scm.") or []
        return tuple(_expect(s, str, f"build.scm.{key}[{i}]") for i, s in enumerate(items))

    return ScmInfo(
        url=_optional(value, "url", str, "build.scm."),
        branch=_optional(value, "branch", str, "build.scm."),
        commit=_optional(value, "commit", str, "build.scm."),
        changes=strings("changes"),
        culprits=strings("culprits"),
    )
