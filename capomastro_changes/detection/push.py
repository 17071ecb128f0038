"""Push notifications: which sources a pushed repository URL names, made due now.

Like the Jenkins git plugin's ``notifyCommit``, matching is loose: a hook may
know the repository by another scheme, with or without ``.git``, a trailing
``/``, credentials, or an ``ssh.`` host, and still name the same sources. A
push only makes sources due; the sweep checks them, so a flood of pushes costs
one cheap UPDATE each and polling stays the backstop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from capomastro_changes.models import Source, SourceState
from capomastro_changes.redaction import redact_url
from capomastro_changes.revisions import Revision, revision_problem
from capomastro_changes.vcs.identity import branch_key, loose_url_key

log = logging.getLogger(__name__)
MAX_URL_LENGTH = 500
MAX_BRANCHES = 100


class BadPush(ValueError):
    """The push names no usable repository URL; nothing is scheduled."""


@dataclass(frozen=True)
class Push:
    """What a hook told us: a repository, maybe branches, maybe the new revision."""

    url: str
    branches: tuple[str, ...] = ()
    revision: str = ""


@dataclass(frozen=True)
class Scheduled:
    """A source made due by a push, as the answer lists it (URL without password)."""

    source: int
    vcs: str
    url: str
    branch: str


def parse_push(params: Mapping[str, str]) -> Push:
    """A :class:`Push` from request parameters ``url``, ``branches`` and ``sha1``/``revision``.

    Raises:
        BadPush: no URL, or one too long or with control characters.
    """
    url = (params.get("url") or "").strip()
    if not url:
        raise BadPush("the push names no repository: give url=")
    if len(url) > MAX_URL_LENGTH or not url.isprintable():
        raise BadPush("the pushed repository URL is too long or has control characters")
    branches = [b.strip() for b in (params.get("branches") or "").split(",") if b.strip()]
    if len(branches) > MAX_BRANCHES or not all(b.isprintable() for b in branches):
        raise BadPush(f"give at most {MAX_BRANCHES} branches, without control characters")
    revision = (params.get("sha1") or params.get("revision") or "").strip()
    problem = revision_problem(Revision(revision)) if revision else ""
    if problem:  # only echoed and logged, but held to the rule every revision is held to
        raise BadPush(f"the pushed revision is refused: {problem}")
    return Push(url, tuple(branches), revision)


def push_key(url: str) -> str:
    """The loosest comparable form of a repository URL: no scheme, no ``ssh.`` host prefix."""
    key = loose_url_key(url)
    host, slash, path = key.partition("/")
    if host.startswith("ssh."):
        host = host[len("ssh.") :]
    return f"{host}{slash}{path}"


def branch_matches(source_branch: str, pushed: tuple[str, ...]) -> bool:
    """True if a push of ``pushed`` branches may move a source tracking ``source_branch``.

    No branches named, or a source on the remote's default branch (which the
    push cannot tell us), always match: a needless check is cheap, a missed
    one is a change found only at the next poll.
    """
    if not pushed or not branch_key(source_branch):
        return True
    return branch_key(source_branch) in {branch_key(b) for b in pushed}


def matching_sources(push: Push) -> list[Source]:
    """Enabled sources whose URL and branch the push names, by id.

    The database narrows by the URL's path (a suffix match on the stored key);
    the loose comparison is made here.
    """
    key = push_key(push.url)
    path = key[key.index("/") :] if "/" in key else key
    candidates = Source.objects.filter(url_key__endswith=path, state__enabled=True).order_by("pk")
    return [
        source
        for source in candidates
        if push_key(source.url_key) == key and branch_matches(source.branch, push.branches)
    ]


def schedule(push: Push) -> list[Scheduled]:
    """Make the sources the push names due now, and say which."""
    sources = matching_sources(push)
    SourceState.objects.make_due(s.pk for s in sources)
    log.info(
        "push for %s (branches: %s, revision: %s): %d source(s) due now",
        redact_url(push.url),
        ",".join(push.branches) or "any",
        push.revision[:40] or "?",
        len(sources),
    )
    return [Scheduled(s.pk, s.vcs, redact_url(s.url), s.branch) for s in sources]
