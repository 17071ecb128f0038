"""Looking for secrets where they must never be: every log file of a run.

The secrets themselves are never printed: a finding names the file and which
secret (by position), not its value.
"""

from __future__ import annotations

from pathlib import Path

LOG_SUFFIXES = (".log",)


def scan(root: Path, secrets: list[str]) -> list[str]:
    """Log files under ``root`` that contain any of ``secrets``."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in LOG_SUFFIXES:
            continue
        text = path.read_text(errors="replace")
        for n, secret in enumerate(secrets):
            if secret and secret in text:
                found.append(f"{path.name}: secret #{n + 1}")
    return found
