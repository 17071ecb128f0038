"""Command line: run the Jenkins stand-in until interrupted.

The first line printed is ``listening on http://HOST:PORT/`` (flushed), so a
harness that starts it with ``--port 0`` can read the port it got.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from capomastro_changes.testing.jenkins.faults import Faults
from capomastro_changes.testing.jenkins.standin import JenkinsStandIn


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m capomastro_changes.testing.jenkins",
        description="A Jenkins stand-in speaking the remote API python-jenkins uses.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--user", default=None, help="require HTTP Basic auth as this user")
    parser.add_argument("--password", default=None, help="the user's password or API token")
    parser.add_argument("--quiet-period", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("--executors", type=int, default=2)
    parser.add_argument("--no-crumbs", action="store_true", help="disable CSRF crumbs")
    parser.add_argument(
        "--legacy-notifications",
        action="store_true",
        help="notify as plugin 1.5 does (FINISHED, no QUEUED)",
    )
    parser.add_argument(
        "--duplicate-status",
        type=int,
        choices=(201, 303),
        default=303,
        help="answer to an identical queued trigger (303: Jenkins >= 2.308)",
    )
    parser.add_argument("--root", default=None, help="workspaces and archives (default: temp)")
    parser.add_argument("--seed", type=int, default=None, help="seed for random faults")
    args = parser.parse_args(argv)
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start the stand-in, print where it listens, serve until SIGINT or SIGTERM."""
    args = parse_args(argv)
    standin = JenkinsStandIn(
        args.host,
        args.port,
        username=args.user,
        password=args.password,
        quiet_period=args.quiet_period,
        executors=args.executors,
        crumbs=not args.no_crumbs,
        duplicate_status=args.duplicate_status,
        notification_style="legacy" if args.legacy_notifications else "current",
        root=args.root,
        faults=Faults(seed=args.seed),
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with standin:
        print(f"listening on {standin.url}", flush=True)
        stopped.wait()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
