"""Validators for source URLs, branches and intervals, shared by models and forms.

They refuse what could turn into an option, a transport trick or a ref-walk
before anything reaches a VCS client. The finer per-scheme policy (which
schemes are allowed here) lives in :mod:`capomastro_changes.vcs`.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

VCS_CHOICES = (("git", "git"), ("bzr", "bzr"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRANSPORT_TRICK = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_BAD_BRANCH_CHARS = re.compile(r"[\s~^:?*\[\\]")
MAX_BRANCH_LENGTH = 255


def validate_vcs(value: str) -> None:
    """Refuse a VCS this app has no reader for."""
    if value not in dict(VCS_CHOICES):
        raise ValidationError(
            "Unknown VCS %(value)r: choose git or bzr.", code="unknown_vcs", params={"value": value}
        )


def validate_source_url(value: str) -> None:
    """Refuse an empty URL, an option in disguise, control characters and transport tricks."""
    if not value or not value.strip():
        raise ValidationError("The source URL is empty.", code="empty_url")
    if value.startswith("-"):
        raise ValidationError(
            "A source URL may not start with '-' (it would be read as an option).",
            code="option_url",
        )
    if _CONTROL.search(value):
        raise ValidationError("The source URL contains control characters.", code="control_url")
    if _TRANSPORT_TRICK.match(value) or value.startswith("ext:"):
        raise ValidationError(
            "Transport helpers such as 'ext::' are not allowed in a source URL.",
            code="transport_url",
        )


def validate_branch(value: str) -> None:
    """Refuse branch names git would refuse and names that could be read as options.

    An empty branch is allowed: it means the remote HEAD (git) or the URL
    itself names the branch (bzr).
    """
    if not value:
        return
    if len(value) > MAX_BRANCH_LENGTH:
        raise ValidationError(
            "The branch name is longer than %(max)d characters.",
            code="long_branch",
            params={"max": MAX_BRANCH_LENGTH},
        )
    if value.startswith("-"):
        raise ValidationError(
            "A branch may not start with '-' (it would be read as an option).",
            code="option_branch",
        )
    if ".." in value:
        raise ValidationError("A branch name may not contain '..'.", code="dotdot_branch")
    if _CONTROL.search(value):
        raise ValidationError("The branch name contains control characters.", code="control_branch")
    if _BAD_BRANCH_CHARS.search(value) or value.endswith((".lock", "/", ".")) or "//" in value:
        raise ValidationError(
            "%(value)r is not a valid branch name.", code="bad_branch", params={"value": value}
        )
