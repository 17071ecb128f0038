"""Archiving artifacts the way ``hudson.tasks.ArtifactArchiver`` selects them.

Patterns are Ant globs, comma separated: ``*`` and ``?`` stay within one
path segment, ``**`` spans any number of directories, a trailing ``/`` means
everything below. Version-control directories are skipped (Ant's default
excludes), as Jenkins does unless told otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

DEFAULT_EXCLUDED_DIRS = frozenset({".git", ".bzr", ".svn", ".hg", "CVS", "_darcs"})


def ant_regex(pattern: str) -> re.Pattern[str]:
    """Compile one Ant pattern to a regular expression over ``/``-separated paths."""
    pattern = pattern.strip().replace("\\", "/").lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    parts = pattern.split("/")
    out = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:.*/)?")
            continue
        segment = "".join(
            "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char) for char in part
        )
        out.append(segment if last else segment + "/")
    return re.compile("".join(out) + r"\Z")


def split_patterns(patterns: str) -> list[re.Pattern[str]]:
    """Compile a comma-separated pattern list, ignoring empty entries."""
    return [ant_regex(p) for p in patterns.split(",") if p.strip()]


def select(workspace: Path, includes: str, excludes: str = "") -> list[str]:
    """Relative paths of the files in ``workspace`` that the patterns pick, sorted."""
    wanted, unwanted = split_patterns(includes), split_patterns(excludes)
    chosen = []
    for directory, dirnames, filenames in os.walk(workspace):
        dirnames[:] = [d for d in dirnames if d not in DEFAULT_EXCLUDED_DIRS]
        for filename in filenames:
            relative = Path(directory, filename).relative_to(workspace).as_posix()
            if any(p.match(relative) for p in wanted) and not any(
                p.match(relative) for p in unwanted
            ):
                chosen.append(relative)
    return sorted(chosen)


def archive(workspace: Path, archive_dir: Path, includes: str, excludes: str = "") -> list[str]:
    """Copy the selected files into ``archive_dir``, keeping their relative paths.

    Returns:
        The relative paths archived.
    """
    chosen = select(workspace, includes, excludes)
    for relative in chosen:
        target = archive_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(workspace / relative, target)
    return chosen
