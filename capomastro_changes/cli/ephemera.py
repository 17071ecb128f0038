"""``capomastro-changes ephemera list|invalidate``: what is kept, and never restoring it again.

The parser is built before Django is set up, so the records are imported in
the functions that read them.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser, data_dir_help: str) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    shown = actions.add_parser("list", help="the archives kept: name, key, size, maker, last use")
    shown.add_argument("dependency", nargs="?", help="only this dependency's")
    shown.add_argument("--all", action="store_true", help="ended archives too")
    gone = actions.add_parser("invalidate", help="never restore a dependency's archives again")
    gone.add_argument("dependency", help="the dependency's name")
    gone.add_argument("name", nargs="?", help="only this set (default: every set)")
    for action in (shown, gone):
        action.add_argument("--data-dir", help=data_dir_help)


def run(args) -> int:
    """The chosen action; 2 with one line for an unknown dependency."""
    from capomastro_changes.builds.ephemera.housekeeping import invalidate
    from capomastro_changes.models import Dependency, Ephemeron

    dependency = None
    if args.dependency:
        dependency = Dependency.objects.filter(name=args.dependency).first()
        if dependency is None:
            print(f"capomastro-changes ephemera: no dependency named {args.dependency!r}",
                  file=sys.stderr)  # fmt: skip
            return 2
    if args.action == "list":
        return show(dependency, every=args.all)
    chosen = Ephemeron.objects.filter(dependency=dependency)
    if args.name:
        chosen = chosen.filter(name=args.name)
        if not chosen.exists():  # a typo must not read as done
            print(f"capomastro-changes ephemera: {dependency} has no set named {args.name!r}",
                  file=sys.stderr)  # fmt: skip
            return 2
    count = invalidate(chosen, by="capomastro-changes ephemera invalidate")
    what = f"set {args.name} of {dependency}" if args.name else f"every set of {dependency}"
    print(f"invalidated {count} archive(s) ({what}); they will never be restored")
    return 0


def show(dependency, every: bool) -> int:
    """A table of archives, newest first."""
    from django.utils import timezone

    from capomastro_changes.models import Ephemeron

    found = Ephemeron.objects.select_related("dependency", "made_by__job")
    if dependency is not None:
        found = found.filter(dependency=dependency)
    if not every:
        found = found.filter(state__in=(Ephemeron.STAGED, Ephemeron.COMMITTED))
    rows = [("dependency", "name", "key", "state", "size", "made by", "last restored")]
    for archive in found.order_by("-created_at")[:500]:
        maker = archive.made_by or f"request #{archive.made_by_request_id}"
        used = archive.last_restored_at
        rows.append((
            archive.dependency.name, archive.name, archive.key[:12], archive.state,
            human(archive.size), str(maker),
            f"{timezone.localtime(used):%Y-%m-%d %H:%M %Z}" if used else "never",
        ))  # fmt: skip
    if len(rows) == 1:
        print("no ephemera kept" + (f" for {dependency}" if dependency else ""))
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def human(size: int) -> str:
    """``1.5 MB``: sizes as a release engineer reads them."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
