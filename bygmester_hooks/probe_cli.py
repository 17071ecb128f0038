"""``bygmester-probe``: the probe protocol, implemented with the in-process readers.

Meant to run where only this package is installed (inside an LXC container on
a Jenkins builder), so it imports nothing from Django. It can be a job type's
probe script as it is: every option falls back to the ``PROBE_*`` environment
variable that the script probe sets.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bygmester_hooks import bounds
from bygmester_hooks.protocol import EXIT_ERROR, EXIT_MISSING, ProbeResult, format_result
from capomastro_changes.detection.compare import decide
from capomastro_changes.redaction import redact_url
from capomastro_changes.revisions import ProbeAnswer, Reading, SourceRef, StoredState
from capomastro_changes.vcs import DEFAULT_ALLOWED_SCHEMES, MissingError, ReadError, read


def build_parser() -> argparse.ArgumentParser:
    """The command line, with defaults taken from the ``PROBE_*`` environment."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="bygmester-probe",
        description="Print the current revision of a branch as one JSON line.",
    )
    parser.add_argument("--vcs", choices=("git", "bzr"), default=env("PROBE_VCS"))
    parser.add_argument("--url", default=env("PROBE_URL"), help="repository or branch URL")
    parser.add_argument("--branch", default=env("PROBE_BRANCH", ""), help="branch, ref or tag")
    parser.add_argument("--last", default=env("PROBE_LAST") or None, help="last known revision")
    parser.add_argument(
        "--last-revno", type=int, default=_int_or_none(env("PROBE_LAST_REVNO")),
        help="last known bzr revno",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=float(env("PROBE_TIMEOUT") or 30))
    parser.add_argument(
        "--allow-scheme", action="append", default=[], metavar="SCHEME",
        help="also allow this URL scheme (e.g. file); repeatable",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probe; print the result line, or one line on stderr and a non-zero status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.vcs or not args.url:
        parser.error("--vcs and --url are required (or PROBE_VCS and PROBE_URL)")
    source = SourceRef(args.vcs, args.url, args.branch)
    try:
        reading = read(
            source,
            last=[args.last] if args.last else [],
            timeout=args.timeout,
            allowed_schemes=_allowed_schemes(args.allow_scheme),
            # With only a revision id, a bzr uncommit or overwrite shows in the history alone.
            history=args.last_revno is None,
        )
    except ReadError as exc:
        print(f"bygmester-probe: {exc}", file=sys.stderr)
        return EXIT_MISSING if isinstance(exc, MissingError) else EXIT_ERROR
    print(_result_line(args, source, reading))
    return 0


def _result_line(args: argparse.Namespace, source: SourceRef, reading: Reading) -> str:
    """The protocol line: the tip, with ``descends`` and ``outcome`` when ``--last`` is given.

    ``descends`` is there only when the reader had the history at hand (a
    local repository): it is what lets a script probe report a rewrite.
    """
    extra: dict[str, object] = {"vcs": args.vcs, "url": redact_url(args.url), "branch": args.branch}
    descends = dict(reading.ancestry).get(args.last) if args.last else None
    result = ProbeResult(reading.revision.id, reading.revision.revno, descends=descends)
    if args.last:
        answer = ProbeAnswer(source, reading.revision, reading.ancestry)
        extra["outcome"] = str(decide(StoredState(args.last, args.last_revno), answer).outcome)
    return format_result(result, **extra)


def _allowed_schemes(extra: list[str]) -> tuple[str, ...]:
    configured = os.environ.get("PROBE_ALLOWED_SCHEMES")
    base = configured.split(",") if configured else list(DEFAULT_ALLOWED_SCHEMES)
    return tuple(s.strip() for s in [*base, *extra] if s.strip())


def _int_or_none(text: str | None) -> int | None:
    return bounds.whole_number(text) if text else None


if __name__ == "__main__":
    sys.exit(main())
