"""Validators for source URLs, branches and probe scripts, shared by models and forms.

They refuse what could turn into an option, a transport trick, a ref-walk or
a path out of a branch before anything reaches a VCS client or a subprocess.
:func:`validate_url_policy` applies the readers' own URL policy
(:mod:`capomastro_changes.vcs.urls`, with this deployment's allowed schemes)
when a source is saved, so that what a probe would refuse is refused at once,
in the form, and not at every check.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from capomastro_changes.conf import settings
from capomastro_changes.vcs import urls
from capomastro_changes.vcs.errors import PolicyError

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


def validate_probe_script(value: str) -> None:
    """Refuse a probe script path that could leave the job type's bygmester branch.

    The path is run from inside the branch (here, and by the Jenkins probe
    job): an absolute path or a ``..`` would name a program elsewhere, a
    leading ``-`` an option, a control character a forged log line.
    """
    if not value or not value.strip():
        raise ValidationError("The probe script path is empty.", code="empty_script")
    if _CONTROL.search(value):
        raise ValidationError(
            "The probe script path contains control characters.", code="control_script"
        )
    if value.startswith("/"):
        raise ValidationError(
            "The probe script path must be relative to the job type's bygmester branch.",
            code="absolute_script",
        )
    if ".." in value.split("/"):
        raise ValidationError(
            "The probe script path may not contain '..' (it would leave the branch).",
            code="dotdot_script",
        )
    if value.startswith("-"):
        raise ValidationError(
            "The probe script path may not start with '-' (it would be read as an option).",
            code="option_script",
        )


def validate_url_policy(vcs: str, url: str, branch: str) -> None:
    """Refuse a source the probes would refuse under this deployment's URL policy.

    Runs after the field validators (from ``Source.clean``): a value they
    refused already has its message, so it is not judged twice.

    Raises:
        ValidationError: Keyed by field, with the policy's reason.
    """
    if vcs not in dict(VCS_CHOICES) or not _passes(validate_source_url, url):
        return
    try:
        location = urls.check(vcs, url, "", settings.ALLOWED_SCHEMES)
    except PolicyError as exc:
        allowed = ", ".join(settings.ALLOWED_SCHEMES)
        raise ValidationError(
            {"url": ValidationError(
                "%(reason)s; this deployment allows %(allowed)s.", code="refused_url",
                params={"reason": exc.reason[:1].upper() + exc.reason[1:], "allowed": allowed},
            )}
        ) from None  # fmt: skip
    if not _passes(validate_branch, branch):
        return
    try:
        urls.check_branch(vcs, branch, location.display)
    except PolicyError as exc:
        raise ValidationError(
            {"branch": ValidationError("%(reason)s.", code="refused_branch",
                                       params={"reason": exc.reason})}
        ) from None  # fmt: skip


def _passes(validator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
