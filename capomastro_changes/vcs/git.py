"""Read the tip of a git branch with dulwich: no clone, no fetch.

Remote reads are the equivalent of ``git ls-remote URL REF``: one ref
advertisement, asked for with protocol v2 and a ref prefix, so that a
repository with 100,000 refs costs no more than one with ten. The clients
that do the asking, held to the read's limits, are in
:mod:`capomastro_changes.vcs.git_clients`. Local repositories are read in
place, and since their history is at hand the reader also says whether the
tip descends from the last known revision.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable

import urllib3
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.graph import can_fast_forward
from dulwich.object_store import peel_sha
from dulwich.repo import Repo

from capomastro_changes.revisions import Reading, Revision
from capomastro_changes.vcs import urls
from capomastro_changes.vcs.deadline import Deadline
from capomastro_changes.vcs.errors import MissingError, ReadError
from capomastro_changes.vcs.git_clients import client_for, explain
from capomastro_changes.vcs.limits import Budget

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


def read_head(
    url: str,
    branch: str = "",
    *,
    last: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allowed_schemes: Iterable[str] = urls.DEFAULT_ALLOWED_SCHEMES,
) -> Reading:
    """Read the commit a branch, ref, tag or the remote HEAD points at.

    Args:
        url: The repository: an absolute path, ``file://``, ``git://``,
            ``http(s)://`` (smart HTTP), ``ssh://`` or ``user@host:path``.
        branch: A branch name (``refs/heads/`` then ``refs/tags/`` is tried),
            a full ref, or "" / ``HEAD`` for the remote HEAD. Tags are peeled.
        last: Last known commit ids; for a local repository the answer says
            which of them the tip descends from.
        timeout: Seconds the whole read may take.
        max_bytes: Largest ref advertisement accepted.
        allowed_schemes: Schemes the URL policy lets through.

    Returns:
        The tip, the ref it was read from and, where history was at hand, the
        ancestry of each ``last`` id.

    Raises:
        ReadError: The tip could not be read (MissingError when the repository
            or branch does not exist, PolicyError when the URL was refused).
    """
    location = urls.check("git", url, branch, allowed_schemes)
    if location.scheme == "file":
        return _read_local(location, branch, tuple(last))
    budget = Budget(location.display, timeout, max_bytes)
    refs = _read_refs(location, _candidates(branch), budget, allowed_schemes)
    return _pick(location.display, branch, refs)


# Everything a transport can fail with: dulwich's errors, sockets and pipes,
# urllib3 and http.client underneath dulwich's HTTP client, and protocol
# garbage (ValueError).
_TRANSPORT_ERRORS = (
    GitProtocolError,
    OSError,
    ValueError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


def _read_refs(location: urls.Location, wanted: list[bytes], budget: Budget, allowed) -> dict:
    """The advertised refs starting with ``wanted``, read within the budget."""
    opened: list = []
    try:
        with Deadline(budget):
            client, path = client_for(location, budget, opened, allowed)
            return client.get_refs(path, protocol_version=2, ref_prefix=wanted).refs
    except ReadError:
        raise
    except NotGitRepository:
        raise MissingError(location.display, "no git repository at this URL") from None
    except _TRANSPORT_ERRORS as exc:
        raise explain(exc, budget) from None
    finally:
        for connection in opened:
            connection.close()


def _candidates(branch: str) -> list[bytes]:
    """The refs a branch name may mean, in the order they are tried."""
    if branch in ("", "HEAD"):
        return [b"HEAD"]
    if branch.startswith("refs/"):
        return [branch.encode()]
    return [b"refs/heads/" + branch.encode(), b"refs/tags/" + branch.encode()]


def _pick(shown: str, branch: str, refs: dict) -> Reading:
    for name in _candidates(branch):
        commit = refs.get(name + b"^{}") or refs.get(name)
        if commit:
            return Reading(Revision(commit.decode("ascii")), name.decode())
    if branch in ("", "HEAD"):
        raise MissingError(shown, "the repository is empty (HEAD has no commit)")
    raise MissingError(shown, f"no branch, ref or tag named {branch!r}")


def _read_local(location: urls.Location, branch: str, last: tuple[str, ...]) -> Reading:
    try:
        repo = Repo(location.path)
    except (NotGitRepository, OSError):
        raise MissingError(location.display, "no git repository at this path") from None
    with repo:
        for name in _candidates(branch):
            try:
                commit = peel_sha(repo.object_store, repo.refs[name])[1].id
            except KeyError:
                continue
            ancestry = tuple((old, _descends(repo, old, commit)) for old in last)
            return Reading(Revision(commit.decode("ascii")), name.decode(), ancestry)
        refs = repo.refs.as_dict()
    return _pick(location.display, branch, refs)


def _descends(repo: Repo, old: str, new: bytes) -> bool:
    """Whether ``new`` descends from ``old``; an unknown ``old`` was rewritten away."""
    old_id = old.encode("ascii", "replace")
    if old_id == new:
        return True
    try:
        return old_id in repo.object_store and can_fast_forward(repo, old_id, new)
    except (KeyError, ValueError):  # not a commit id at all
        return False
