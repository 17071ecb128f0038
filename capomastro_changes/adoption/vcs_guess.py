"""Which VCS a capomastro dependency's repository uses: capomastro never recorded it.

The URL tells most of the time; where it cannot (an https URL without
``.git``), the operator says so per job type (``--vcs-for``), or the job
type's config.xml names its SCM plugin. Nothing is guessed beyond that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LAUNCHPAD_BRANCHES = "https://bazaar.launchpad.net/+branch/"
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class Guess:
    """A VCS and the URL to read it at, or why neither could be told."""

    vcs: str | None
    url: str
    how: str


def launchpad_url(url: str) -> str:
    """``lp:PATH`` as Launchpad serves it to anonymous readers; any other URL as it is."""
    if url.startswith("lp:"):
        return LAUNCHPAD_BRANCHES + url[3:].lstrip("/")
    return url


def from_url(url: str) -> str | None:
    lowered = url.lower()
    if lowered.startswith(("lp:", "bzr://", "bzr+ssh://", "bzr+http://", "bzr+https://")):
        return "bzr"
    if lowered.startswith(("git://", "git+ssh://", "ssh://")) or _SCP_LIKE.match(url):
        return "git"
    if lowered.rstrip("/").endswith(".git"):
        return "git"
    if lowered.startswith(LAUNCHPAD_BRANCHES):
        return "bzr"
    return None


def from_config(config_xml: str | None) -> str | None:
    """The SCM plugin a job type's config.xml names, when exactly one is named."""
    text = config_xml or ""
    named = {vcs for vcs, mark in (("git", "GitSCM"), ("bzr", "BzrSCM")) if mark in text}
    return named.pop() if len(named) == 1 else None


def guess(url: str, jobtype: str, vcs_for: dict[str, str], config_xml: str | None) -> Guess:
    """The VCS of ``url``: from the URL, else ``--vcs-for`` for the job type, else config.xml."""
    readable = launchpad_url(url)
    if vcs := from_url(url):
        return Guess(vcs, readable, "from the URL")
    if vcs := vcs_for.get(jobtype):
        return Guess(vcs, readable, f"--vcs-for {jobtype}")
    if vcs := from_config(config_xml):
        return Guess(vcs, readable, "from the job type's config.xml")
    return Guess(
        None, readable, "the URL does not tell git from bzr: give --vcs-for JOBTYPE=git|bzr"
    )
