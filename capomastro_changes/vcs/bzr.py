"""Read the tip ``(revno, revision-id)`` of a bzr branch with breezy.

Only the branch's last-revision record is read, never the history, except for
a local branch whose history is at hand, where the answer also says whether
the tip descends from the last known revision.

Remote branches are asked the one question first (the fast path): over a
smart server (``bzr://``, ``bzr+ssh://``) the single ``Branch.last_revision_info``
call, over plain HTTP a single ``GET .bzr/branch/last-revision`` (the file
every branch format since 6, 2a's included, keeps its tip in). Opening the
branch the ordinary way costs five smart calls or seven HTTP requests; it is
what happens when the fast path has no answer: an old format without that
file, a branch reference (a lightweight checkout), a smart server that does
not know the call, a missing branch (so that its error is the usual one), a
redirect, or anything that is not a tip record. A stacked branch keeps its
own tip in that file (stacking only moves where revisions are stored), and
the smart server answers for it without opening its fallback, so it needs no
fallback.

A remote read has one deadline for all of it, however many calls opening a
branch takes and however slowly the server sends: every socket breezy opens
for it is bounded by :class:`~capomastro_changes.vcs.deadline.Deadline`.
Except over bzr+ssh, where breezy opens no socket but a pair to an ``ssh``
child, and waits for that child to exit: there the check task's time limit
is the bound (docs/probes.md says what operators can do).
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import re
import socket
import warnings
from collections.abc import Iterable

import breezy.bzr  # noqa: F401  (registers the bzr branch formats)
from breezy import errors as brz_errors
from breezy.branch import Branch
from breezy.transport import NoSuchFile, get_transport

from capomastro_changes.redaction import redact_text
from capomastro_changes.revisions import Reading, Revision
from capomastro_changes.vcs import urls
from capomastro_changes.vcs.deadline import Deadline
from capomastro_changes.vcs.errors import MissingError, ReadError
from capomastro_changes.vcs.limits import Budget

DEFAULT_TIMEOUT = 30.0
# The fast path reads at most this much of a tip record (a revno, a space, a
# revision id: well under a hundred bytes); anything longer is not one.
MAX_TIP_RECORD = 4096
_TIP_RECORD = re.compile(rb"(0|[1-9][0-9]{0,17}) ([^\s]{1,1000})\n?")
_SMART_SCHEMES = frozenset({"bzr", "bzr+ssh"})
_HTTP_SCHEMES = frozenset({"http", "https"})


def read_tip(
    url: str,
    branch: str = "",
    *,
    last: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    allowed_schemes: Iterable[str] = urls.DEFAULT_ALLOWED_SCHEMES,
    history: bool = False,
) -> Reading:
    """Read the revno and revision-id at the tip of a bzr branch.

    Args:
        url: The branch (or the directory holding it): an absolute path,
            ``file://``, ``bzr://``, ``bzr+ssh://`` or ``http(s)://``.
        branch: A relative path below ``url`` naming the branch ("" for ``url``).
        last: Last known revision-ids; for a local branch the answer says which
            of them the tip descends from.
        timeout: Seconds the whole remote read may take.
        allowed_schemes: Schemes the URL policy lets through.
        history: Open the branch whatever its scheme (``bzr://``, http) and say
            whether the tip descends from each of ``last``: a caller holding
            only a revision id (no revno) learns of an uncommit or overwrite.
            Costs a few more round trips than reading the tip record alone.

    Returns:
        The tip revision (with its revno) and the branch URL read.

    Raises:
        ReadError: The tip could not be read (MissingError when there is no
            branch there, PolicyError when the URL was refused).
    """
    location = urls.check("bzr", url, branch, allowed_schemes)
    local = location.scheme == "file"
    target = location.path if local else location.url
    if branch:
        target = f"{target.rstrip('/')}/{branch}"
    budget = Budget(location.display, timeout)
    try:
        with contextlib.nullcontext() if local else Deadline(budget):
            revno, revision_id, ancestry = _read(target, location.scheme, tuple(last), history)
    except ReadError:
        raise
    except _BREEZY_ERRORS as exc:
        raise _explain(exc, budget) from None
    shown = f"{location.display}/{branch}" if branch else location.display
    return Reading(Revision(revision_id.decode("utf-8"), revno), shown, ancestry)


# What a read can fail with: breezy's errors (a missing branch among them),
# sockets, http.client under breezy's http transport, and corrupt tip records
# (breezy parses them without checking: ValueError).
_BREEZY_ERRORS = (brz_errors.BzrError, OSError, ValueError, http.client.HTTPException)


def _read(
    target: str, scheme: str, last: tuple[str, ...], history: bool = False
) -> tuple[int, bytes, tuple]:
    """``(revno, revision-id, ancestry)`` at ``target``: the fast path, else the branch."""
    transports: list = []
    with_history = bool(last) and (history or scheme == "file")
    try:
        transports.append(get_transport(target, possible_transports=transports))
        fast = None if with_history else _fast_tip(transports[0], scheme)
        if fast is not None:
            return (*fast, ())
        tip = Branch.open_from_transport(transports[0], possible_transports=transports)
        revno, revision_id = tip.last_revision_info()
        return revno, revision_id, _ancestry(tip, revision_id, last) if with_history else ()
    finally:
        for transport in transports:
            with contextlib.suppress(Exception):
                transport.disconnect()


def _explain(exc: Exception, budget: Budget) -> ReadError:
    """The read error for what breezy raised; past the deadline it is always a timeout."""
    if not isinstance(exc, brz_errors.NotBranchError | NoSuchFile | ValueError):
        _reclaim_abandoned_sockets()
    if budget.expired() or isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return budget.timed_out()
    if isinstance(exc, brz_errors.NotBranchError | NoSuchFile):
        return MissingError(budget.source, "no bzr branch here")
    if isinstance(exc, ValueError):
        return ReadError(budget.source, f"unreadable branch data: {_describe(exc)}")
    return ReadError(budget.source, _describe(exc))


def _fast_tip(transport, scheme: str) -> tuple[int, bytes] | None:
    """The tip from one request, or None when only opening the branch can tell.

    Failures to reach the server are raised as they are (the caller turns them
    into read errors): opening the branch would only fail the same way, later.
    """
    if scheme in _SMART_SCHEMES:
        return _smart_tip(transport)
    if scheme in _HTTP_SCHEMES:
        return _http_tip(transport)
    return None


def _smart_tip(transport) -> tuple[int, bytes] | None:
    """``Branch.last_revision_info`` on the smart server, and nothing else."""
    from breezy.bzr.smart.client import _SmartClient

    client = _SmartClient(transport.get_smart_medium())
    try:
        response = client.call(
            b"Branch.last_revision_info", client.remote_path_from_transport(transport)
        )
    except brz_errors.ErrorFromSmartServer:
        return None  # not a branch (or a reference), an unknown verb: open it to know
    if len(response) != 3 or response[0] != b"ok":
        return None
    return _parse_tip(response[1] + b" " + response[2])


def _http_tip(transport) -> tuple[int, bytes] | None:
    """``GET .bzr/branch/last-revision`` over plain HTTP, bounded in size."""
    try:
        body = transport.get(".bzr/branch/last-revision")
    except (NoSuchFile, brz_errors.RedirectRequested, brz_errors.PathError):
        return None
    try:
        record = body.read(MAX_TIP_RECORD + 1)
    finally:
        with contextlib.suppress(Exception):
            body.close()
    return _parse_tip(record) if len(record) <= MAX_TIP_RECORD else None


def _parse_tip(record: bytes) -> tuple[int, bytes] | None:
    """``(revno, revision-id)`` from a tip record; None unless it is exactly one."""
    match = _TIP_RECORD.fullmatch(record)
    if match is None:
        return None
    revno, revision_id = int(match.group(1)), match.group(2)
    try:
        revision_id.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return revno, revision_id


def _ancestry(tip: Branch, new: bytes, last: tuple[str, ...]) -> tuple:
    """Whether the tip descends from each last known revision (False: it left the history)."""
    with tip.lock_read():
        graph = tip.repository.get_graph()
        present = graph.get_parent_map([old.encode() for old in last])
        return tuple(
            (old, old.encode() in present and graph.is_ancestor(old.encode(), new)) for old in last
        )


def _describe(exc: Exception) -> str:
    """One line saying what went wrong, without any credentials."""
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # breezy appends advice ("... report a bug ...") after the first sentence.
    return redact_text(text.split(". ")[0])[:300]


def _reclaim_abandoned_sockets() -> None:
    """Close the sockets breezy drops on failure (its http retry leaves one behind).

    They sit in reference cycles, so without a collection a long-lived worker
    would hold their file descriptors until the next automatic one.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
