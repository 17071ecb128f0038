"""The console of a Jenkins probe job: the marked lines it prints, picked out of the noise.

A Jenkins console carries more than the probe's answer (Jenkins' own lines,
whatever fetching the bygmester branch printed, the probe's stderr), so the
probe job (``templates/probe-job.xml``) puts a marker before each line the
probe wrote on stdout, and one failure line when the probe failed::

    capomastro-changes-probe: {"revision": "...", "revno": null}
    capomastro-changes-probe-failed: exit 3: no branch refs/heads/gone

Only lines *starting* with a marker count, and lines are split on ``\\n``
alone, so a probe's stderr (printed after ``probe stderr: ``) can never pass
for a result. Like :mod:`bygmester_hooks.protocol`, this imports no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bygmester_hooks.protocol import ProbeResult, ProtocolError, parse_output

RESULT_MARK = "capomastro-changes-probe: "
FAILURE_MARK = "capomastro-changes-probe-failed: "
_FAILURE = re.compile(r"exit (\d+): ?(.*)")
# Lines Jenkins adds around a build step: never a reason worth showing.
_JENKINS_OWN = re.compile(r"(Finished: |Build step '|\[[^\]]*\] \$ |Started by |Running as )")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NoResultLine(ProtocolError):
    """The console has no marked result line at all."""


@dataclass(frozen=True)
class ProbeJobOutput:
    """What a probe job said in its console.

    Attributes:
        results: The text after each result marker, in order.
        exit_status: The probe's exit status from the failure line, or None.
        reason: The failure line's reason; without one, the console's last
            line that is not Jenkins' own (what broke before the probe ran).
    """

    results: tuple[str, ...]
    exit_status: int | None = None
    reason: str = ""


def read_console(text: str) -> ProbeJobOutput:
    """Pick the marked lines (and a failure reason) out of a whole console text."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    results = tuple(line[len(RESULT_MARK) :] for line in lines if line.startswith(RESULT_MARK))
    for line in reversed(lines):
        if line.startswith(FAILURE_MARK):
            match = _FAILURE.fullmatch(line[len(FAILURE_MARK) :])
            if match:
                return ProbeJobOutput(results, int(match.group(1)), _clean(match.group(2)))
    return ProbeJobOutput(results, None, _clean(_last_own_line(lines)))


def parse_results(output: ProbeJobOutput) -> ProbeResult:
    """The probe's result, read with the protocol of the in-process script probe.

    Raises:
        NoResultLine: The console has no marked result line.
        ProtocolError: The marked lines are not exactly one valid result.
    """
    if not output.results:
        raise NoResultLine(f"no line starting {RESULT_MARK.strip()!r} in the console")
    return parse_output("\n".join(output.results))


def _last_own_line(lines: list[str]) -> str:
    for line in reversed(lines):
        if line.strip() and not _JENKINS_OWN.match(line) and not line.startswith(RESULT_MARK):
            return line.strip()
    return ""


def _clean(text: str) -> str:
    return _CONTROL.sub("?", text.strip())[:300]
