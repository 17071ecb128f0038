"""``bygmester-ephemera persist|restore``: the command a build (or its template) calls.

Exit statuses:
    0  done; for ``restore`` also "nothing to restore", "server unreachable"
       and "archive refused": a build never fails because a cache is absent.
    1  ``persist`` did not store a set (the server refused or could not be
       reached, a path is missing or leads out of the workspace, a key file is
       missing, or the set is larger than ``--max-size``); the other sets are
       still done.
    2  a usage error: a bad set name or path, an unreadable key file or sets file.

Environment: ``EPHEMERA_URL`` (the server's ephemera endpoints, passed by the
trigger), ``EPHEMERA_TOKEN`` (this build's token, a password parameter:
never printed), ``WORKSPACE`` (default: the current directory),
``BYGMESTER_REVISION`` (default: read from ``$WORKSPACE/bygmester``).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bygmester_hooks.ephemera.keys import KeyFileError, bygmester_revision, check_name, make_key
from bygmester_hooks.ephemera.packing import TooLarge
from bygmester_hooks.ephemera.paths import PathRefused, member_path
from bygmester_hooks.ephemera.persisting import persist
from bygmester_hooks.ephemera.restoring import restore
from bygmester_hooks.ephemera.transfer import Server, TransferError

PROG = "bygmester-ephemera"
EXIT_NOT_STORED = 1
EXIT_USAGE = 2
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
DEFAULT_MAX = 10 << 30


class Usage(ValueError):
    """Something given on the command line or in a sets file cannot be used."""


@dataclass
class SetSpec:
    """One set: its name, its paths (persist only) and its key files."""

    name: str
    paths: list[str] = field(default_factory=list)
    key_files: list[str] = field(default_factory=list)


def size(text: str) -> int:
    """``500M``, ``2G``, ``1048576``: a size in bytes."""
    found = re.fullmatch(r"(\d+)([KMGT]?)i?B?", text.strip().upper())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (like 500M or 2G)")
    return int(found.group(1)) * UNITS[found.group(2)]


def read_sets(path: Path) -> list[SetSpec]:
    """A sets file: one ``NAME PATH... [--key-file FILE]...`` per line, ``#`` comments.

    Raises:
        Usage: the file cannot be read, or a line is malformed.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise Usage(f"cannot read {path}: {exc.strerror}") from exc
    specs = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise Usage(f"{path}:{number}: {exc}") from exc
        if not words:
            continue
        spec = SetSpec(words[0])
        rest = iter(words[1:])
        for word in rest:
            if word == "--key-file":
                spec.key_files.append(next(rest, ""))
            else:
                spec.paths.append(word)
        if not spec.paths or "" in spec.key_files:
            raise Usage(f"{path}:{number}: expected NAME PATH... [--key-file FILE]...")
        specs.append(spec)
    return specs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Keep a named part of a build's workspace after it succeeds, and "
        "unfurl it before the next build.",
        epilog="Exit status: 0 done (restore: also nothing found, or refused), "
        "1 persist stored nothing, 2 usage error. Environment: EPHEMERA_URL, EPHEMERA_TOKEN "
        "(never printed), WORKSPACE, BYGMESTER_REVISION.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keep = commands.add_parser("persist", help="pack paths and stage them on the server")
    keep.add_argument("name", nargs="?", help="the set's name, e.g. cargo-registry")
    keep.add_argument("paths", nargs="*", metavar="PATH", help="relative to the workspace")
    keep.add_argument("--max-size", type=size, default=DEFAULT_MAX, help="e.g. 500M, 2G")
    back = commands.add_parser("restore", help="unfurl the newest archive of a set")
    back.add_argument("name", nargs="?", help="the set's name")
    back.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="the set's paths, as persist was given them: nothing else is ever written",
    )  # fmt: skip
    back.add_argument(
        "--fallback", action="store_true",
        help="if no archive has this key, take the set's newest (if the dependency allows it)",
    )  # fmt: skip
    for sub in (keep, back):
        sub.add_argument("--key-file", action="append", default=[], metavar="FILE")
        sub.add_argument(
            "--from", dest="sets_file", type=Path, metavar="FILE",
            help="a sets file (relative to the workspace): one 'NAME PATH... [--key-file FILE]...' "
            "per line",
        )  # fmt: skip
    return parser


def specs_of(args, workspace: Path) -> list[SetSpec]:
    """The sets to work on, from the command line or a sets file, checked.

    A relative sets file, like key files and set paths, is read from the workspace.
    """
    if args.sets_file:
        specs = read_sets(workspace / args.sets_file)
    elif args.name:
        specs = [SetSpec(args.name, list(getattr(args, "paths", [])), list(args.key_file))]
        if not specs[0].paths:
            raise Usage(f"{args.command} needs the set's PATHs after its NAME")
    else:
        raise Usage("give a set NAME, or --from a sets file")
    for spec in specs:
        check_name(spec.name)
        for path in spec.paths:
            member_path(path)
    return specs


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    workspace = Path(os.environ.get("WORKSPACE") or os.getcwd())
    try:
        specs = specs_of(args, workspace)
    except (Usage, ValueError) as exc:
        return say(str(exc), EXIT_USAGE)
    url, token = os.environ.get("EPHEMERA_URL", ""), os.environ.get("EPHEMERA_TOKEN", "")
    if not url or not token:
        missing = "EPHEMERA_URL" if not url else "EPHEMERA_TOKEN"
        if args.command == "restore":
            return say(f"{missing} is not set: nothing restored; building from pristine", 0)
        return say(f"{missing} is not set: nothing stored", EXIT_NOT_STORED)
    server = Server(url, token)
    revision = bygmester_revision(workspace)
    status = 0
    for spec in specs:  # each set on its own: one that cannot be done stops no other
        try:
            key_files = [Path(f) for f in spec.key_files]
            key = make_key(spec.name, spec.paths, key_files, workspace, revision)
        except KeyFileError as exc:
            if args.command == "restore":
                say(f"{spec.name} not restored: {exc}; building from pristine", 0)
            else:
                status = say(f"{spec.name} not stored: {exc}", EXIT_NOT_STORED)
            continue
        if args.command == "restore":
            say(restore(server, workspace, spec.name, key, args.fallback, spec.paths).line, 0)
            continue
        try:
            say(persist(server, workspace, spec.name, key, spec.paths, args.max_size), 0)
        except (PathRefused, TooLarge, TransferError, OSError) as exc:
            status = say(f"{spec.name} not stored: {exc}", EXIT_NOT_STORED)
    return status


def say(line: str, status: int) -> int:
    """One line on stderr, prefixed with the command's name; ``status`` back."""
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
