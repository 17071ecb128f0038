"""The bygmester probe protocol: the one JSON object a probe prints.

A probe prints exactly one JSON object on stdout::

    {"revision": "<id>", "revno": <int or null>, "changed": <true/false, optional>,
     "descends": <true/false, optional>}

and exits 0; on failure it exits non-zero (3: the branch or repository is
gone) with a one-line reason on stderr. A probe with the history at hand (a
local repository, a mirror it fetched) says whether ``revision`` descends
from the last known one (``PROBE_LAST``): ``"descends": false``, or
``"outcome": "rewritten"``, is a rewritten branch, which the compare rules
could not tell from the ids alone. Other keys (``vcs``, ``url``, ``branch``)
are informative and ignored here. This module is shared by the script probe
and the Jenkins probe, and imports no Django.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bygmester_hooks import bounds

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_MISSING = 3
MAX_REVISION_LENGTH = 255
# What a probe may say as ``outcome`` (informative, but for "rewritten").
OUTCOMES = ("baseline", "unchanged", "changed", "rewritten")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ProtocolError(ValueError):
    """A probe's output does not follow the protocol."""


@dataclass(frozen=True)
class ProbeResult:
    """What a probe printed.

    Attributes:
        revision: The revision the probe saw (any opaque, non-empty string).
        revno: The bzr revno, or None.
        changed: The probe's own yes/no verdict, or None when it leaves the
            decision to the compare rules.
        descends: Whether ``revision`` descends from the last known revision
            the probe was given; None when it had no history to tell.
    """

    revision: str
    revno: int | None = None
    changed: bool | None = None
    descends: bool | None = None

    def ancestry(self, last: str | None) -> tuple[tuple[str, bool], ...]:
        """What this result says of ``last`` (the ``PROBE_LAST`` it was run with), if anything.

        In the form of :attr:`capomastro_changes.revisions.ProbeAnswer.ancestry`,
        so that the compare rules judge a probe's history as they judge the
        in-process readers'.
        """
        if not last or self.descends is None:
            return ()
        return ((last, self.descends),)


def parse_output(text: str) -> ProbeResult:
    """Parse a probe's whole stdout: exactly one non-empty line, one JSON object.

    Raises:
        ProtocolError: The output is empty, has several lines, or is not a result.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ProtocolError("the probe printed nothing")
    if len(lines) > 1:
        raise ProtocolError(f"the probe printed {len(lines)} lines; the protocol wants one")
    return parse_line(lines[0])


def parse_line(line: str) -> ProbeResult:
    """Parse one result line (for callers that pick the line out of a log themselves).

    Raises:
        ProtocolError: The line is not a JSON object with a valid revision.
    """
    try:
        data = bounds.loads(line)
    except bounds.TooDeep as exc:
        raise ProtocolError(f"the output is refused: {exc}") from None
    except ValueError:
        raise ProtocolError(f"the output is not JSON (it starts {_excerpt(line)})") from None
    if not isinstance(data, dict):
        raise ProtocolError("the output is JSON but not an object")
    revision = data.get("revision")
    if not isinstance(revision, str) or not revision.strip():
        raise ProtocolError("the result has no 'revision' string")
    if len(revision) > MAX_REVISION_LENGTH or _CONTROL.search(revision):
        raise ProtocolError("the 'revision' is too long or has control characters")
    revno = data.get("revno")
    if revno is not None and (type(revno) is not int or bounds.whole_number(revno) is None):
        raise ProtocolError(f"'revno' must be an integer from 0 to {bounds.INT_MAX}, or null")
    changed = data.get("changed")
    if changed is not None and not isinstance(changed, bool):
        raise ProtocolError("'changed' must be true, false or absent")
    return ProbeResult(revision, revno, changed, _descends(data))


def _descends(data: dict) -> bool | None:
    """The ancestry verdict: ``descends``, or ``outcome: rewritten``; they must agree."""
    descends, outcome = data.get("descends"), data.get("outcome")
    if descends is not None and not isinstance(descends, bool):
        raise ProtocolError("'descends' must be true, false or absent")
    if outcome is not None and outcome not in OUTCOMES:
        raise ProtocolError(f"'outcome' must be one of {', '.join(OUTCOMES)} or absent")
    if outcome == "rewritten":
        if descends:
            raise ProtocolError("'outcome' is rewritten but 'descends' is true")
        return False
    return descends


def format_result(result: ProbeResult, **extra: object) -> str:
    """The one line a probe prints for ``result`` (``extra`` keys come first)."""
    data: dict[str, object] = dict(extra)
    data.update(revision=result.revision, revno=result.revno)
    if result.changed is not None:
        data["changed"] = result.changed
    if result.descends is not None:
        data["descends"] = result.descends
    return json.dumps(data, sort_keys=False)


def _excerpt(text: str) -> str:
    shown = _CONTROL.sub("?", text[:40])
    return repr(shown + ("..." if len(text) > 40 else ""))
