"""capomastro's two ways of writing build parameters, read into plain mappings.

A dependency's parameters are ``KEY=VALUE`` lines (browsers saved them with
CRLF); a build's are JSON text, a list of ``{"name", "value"}`` objects.
"""

from __future__ import annotations

import json


def dependency_parameters(text: str | None) -> dict[str, str]:
    """``KEY=VALUE`` lines as capomastro split them: blank lines skipped, both sides stripped.

    A line without ``=`` was invalid in capomastro's form; it is skipped here too.
    """
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            found[key.strip()] = value.strip()
    return found


def parameter_lines(parameters: dict[str, str]) -> str:
    """Our form of a dependency's parameters: ``KEY=VALUE`` lines joined by ``\\n``."""
    return "\n".join(f"{key}={value}" for key, value in parameters.items())


def build_parameters(text: str | None) -> dict[str, str]:
    """A build's JSON parameter list as a mapping; anything unreadable is no parameters."""
    try:
        listed = json.loads(text or "[]", parse_constant=lambda _: None)
    except (ValueError, RecursionError):
        return {}
    if isinstance(listed, dict):
        return {str(k): "" if v is None else str(v) for k, v in listed.items()}
    if not isinstance(listed, list):
        return {}
    found = {}
    for item in listed:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = item.get("value")
            found[item["name"]] = "" if value is None else str(value)
    return found
