"""Posting Notification-plugin JSON to the endpoints of a job's config.

Behaves like the plugin's HTTP protocol: a synchronous POST from the build's
thread, ``application/json;charset=UTF-8``, basic auth from ``user:pass@`` in
the URL, the answer's status ignored, only I/O errors retried. Null fields
are left out of the payload (the plugin uses Gson, which omits them). With
``style="legacy"`` it plays notification 1.5: no QUEUED, FINISHED instead of
FINALIZED, and the 1.5 payload fields only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass

import requests

from capomastro_changes.redaction import redact_url
from capomastro_changes.testing.jenkins.config import Endpoint
from capomastro_changes.testing.jenkins.faults import Faults
from capomastro_changes.testing.jenkins.state import Build

STYLES = ("current", "legacy")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Delivery:
    """One notification the stand-in sent (or dropped): for tests and the chaos harness."""

    job: str
    number: int
    phase: str
    url: str
    outcome: str  # "sent <status>", "dropped", "failed: <reason>", "skipped: <reason>"


def payload(
    build: Build,
    phase: str,
    base_url: str,
    style: str = "current",
    secret: frozenset[str] = frozenset(),
) -> dict:
    """The JSON the plugin posts for ``build`` in ``phase``, null fields left out.

    Password parameters are left out: the Notification plugin's ``Phase``
    builds ``BuildState.parameters`` from the run's ``ParametersAction``
    skipping sensitive values (``ParameterValue.isSensitive()``). ``scm`` is
    the plugin's ``ScmState`` of a job with no SCM: only its two lists.
    """  # fmt: skip
    job_url = f"job/{build.job}/"
    build_url = f"{job_url}{build.number}/"
    body = {
        "full_url": base_url + build_url,
        "number": build.number,
        "phase": phase,
        "status": build.result,
        "url": build_url,
        "parameters": (
            {k: v for k, v in build.parameters.items() if k not in secret}
            if build.parameters is not None
            else None
        ),
    }
    top = {"name": build.job, "url": job_url}
    if style == "current":
        duration = None
        if build.finished_at is not None:
            duration = int((build.finished_at - build.started_at) * 1000)
        body.update(
            queue_id=build.queue_id,
            timestamp=int(build.started_at * 1000),
            duration=duration,
            scm={"changes": [], "culprits": []},
            log="",
            artifacts={
                path: {"archive": f"{base_url}{build_url}artifact/{path}"}
                for path in build.artifacts
            }
            or None,
        )
        top["display_name"] = build.job
    top["build"] = {key: value for key, value in body.items() if value is not None}
    return top


def wants(endpoint: Endpoint, phase: str, result: str | None) -> bool:
    """Whether the endpoint's ``event`` filter lets ``phase`` through."""
    event = endpoint.event
    if event == "all":
        return True
    if event in ("failed", "failedandfirstsuccess"):
        return phase in ("FINALIZED", "FINISHED") and result == "FAILURE"
    return event == phase.lower()


def expand(url: str, variables: dict[str, str]) -> str | None:
    """Expand ``$VAR``/``${VAR}``; None when one is unknown (the plugin then skips it)."""
    missing = []

    def substitute(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            missing.append(name)
            return ""
        return variables[name]

    expanded = _VARIABLE.sub(substitute, url)
    return None if missing else expanded


class Notifier:
    """Sends one build's notifications and keeps the record of deliveries."""

    def __init__(self, base_url: str, faults: Faults, style: str = "current"):
        if style not in STYLES:
            raise ValueError(f"notification style must be one of {STYLES}, not {style!r}")
        self.base_url = base_url
        self.faults = faults
        self.style = style
        self.max_timeout = 10.0
        self._deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def phases_at_start(self) -> tuple[str, ...]:
        """QUEUED then STARTED (1.12+), or STARTED alone (1.5)."""
        return ("STARTED",) if self.style == "legacy" else ("QUEUED", "STARTED")

    def final_phase(self) -> str:
        """FINALIZED (1.6+) or FINISHED (1.5)."""
        return "FINISHED" if self.style == "legacy" else "FINALIZED"

    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def send(
        self,
        build: Build,
        endpoints,
        phase: str,
        variables: dict[str, str],
        secret: frozenset[str] = frozenset(),
    ) -> None:
        """Post ``phase`` of ``build`` to each endpoint that wants it (no password values)."""
        if build.silent:
            return
        body = json.dumps(payload(build, phase, self.base_url, self.style, secret)).encode()
        for endpoint in endpoints:
            if not wants(endpoint, phase, build.result):
                continue
            url = expand(endpoint.url, variables)
            if url is None or endpoint.format != "JSON":
                self._note(build, phase, endpoint.url, "skipped: unresolved variable or not JSON")
            elif self.faults.drop_notification():
                self._note(build, phase, url, "dropped")
            else:
                self._note(build, phase, url, self._post(url, body, endpoint))

    def _post(self, url: str, body: bytes, endpoint: Endpoint) -> str:
        timeout = min(endpoint.timeout_ms / 1000.0, self.max_timeout)
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        reason = ""
        for attempt in range(endpoint.retries + 1):
            if attempt:
                time.sleep(0.1)
            try:
                response = requests.post(url, data=body, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                reason = type(exc).__name__
                continue
            response.close()
            return f"sent {response.status_code}"
        return f"failed: {reason}"

    def _note(self, build: Build, phase: str, url: str, outcome: str) -> None:
        with self._lock:
            self._deliveries.append(
                Delivery(build.job, build.number, phase, redact_url(url), outcome)
            )
