"""The script probe: run a job type's bygmester probe script as a subprocess.

The script lives in the job type's bygmester branch and follows the protocol
of :mod:`bygmester_hooks.protocol`. It runs from an argv list with a time limit
and an output cap, in the branch directory, with a small environment: the
source in ``PROBE_*`` variables and nothing of the worker's secrets.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from bygmester_hooks.protocol import EXIT_MISSING, ProtocolError, parse_output
from capomastro_changes.redaction import redact_text, redact_url
from capomastro_changes.revisions import ProbeAnswer, Revision, SourceRef

_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSH_AUTH_SOCK", "http_proxy",
               "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")  # fmt: skip


class ScriptError(Exception):
    """The probe script could not be run or broke the protocol."""


def run_script(
    branch_dir: str | os.PathLike,
    script: str,
    source: SourceRef,
    last: Revision | None = None,
    *,
    timeout: float,
    max_output: int,
    allowed_schemes: Iterable[str] = (),
) -> ProbeAnswer:
    """Run ``script`` from ``branch_dir`` and turn what it printed into an answer.

    Args:
        branch_dir: The job type's bygmester branch (a local checkout).
        script: The script's path relative to ``branch_dir``.
        source: The source the script is asked about.
        last: The last known revision, passed as ``PROBE_LAST``/``PROBE_LAST_REVNO``.
        timeout: Seconds the script may run before it is killed.
        max_output: Bytes of stdout (and of stderr) accepted before it is killed.
        allowed_schemes: The deployment's URL policy, passed as ``PROBE_ALLOWED_SCHEMES``.

    Returns:
        The answer; a failure is an answer with ``error`` set, never an exception.
    """
    started = time.monotonic()
    try:
        path = resolve_script(branch_dir, script)
        env = _environment(source, last, timeout, allowed_schemes)
        code, out, err = _run([str(path)], Path(branch_dir).resolve(), env, timeout, max_output)
        if code != 0:
            reason = _first_line(err) or "no reason given on stderr"
            message = f"probe script {script!r} exited with status {code}: {reason}"
            return _failed(source, message, started, missing=code == EXIT_MISSING)
        result = parse_output(out.decode("utf-8", "replace"))
    except (ScriptError, ProtocolError) as exc:
        return _failed(source, f"probe script {script!r}: {exc}", started)
    revision = Revision(result.revision, result.revno)
    ancestry = result.ancestry(last.id if last else None)
    return ProbeAnswer(source, revision, ancestry, changed=result.changed, seconds=_since(started))


def resolve_script(branch_dir: str | os.PathLike, script: str) -> Path:
    """The script's real path, refused if it escapes ``branch_dir`` (``..``, symlinks).

    Raises:
        ScriptError: The path escapes the branch, does not exist or is not executable.
    """
    try:
        root = Path(branch_dir).resolve()
        path = (root / script).resolve()
    except (OSError, ValueError, RuntimeError):  # NUL byte, name too long, symlink loop
        raise ScriptError("the script path cannot be resolved") from None
    if not path.is_relative_to(root):
        raise ScriptError("the script path leads outside the job type's branch")
    if not path.is_file():
        raise ScriptError("no such script in the job type's branch")
    if not os.access(path, os.X_OK):
        raise ScriptError("the script is not executable")
    return path


def _environment(source, last, timeout, allowed_schemes) -> dict[str, str]:
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env.update(
        PROBE_VCS=source.vcs, PROBE_URL=source.url, PROBE_BRANCH=source.branch,
        PROBE_TIMEOUT=f"{timeout:g}", PROBE_ALLOWED_SCHEMES=",".join(allowed_schemes),
    )  # fmt: skip
    if last is not None:
        env["PROBE_LAST"] = last.id
        if last.revno is not None:
            env["PROBE_LAST_REVNO"] = str(last.revno)
    return env


# The script runs under a subreaper (see :mod:`.subreaper`), which ends every
# process the script started, setsid or not, when the script exits or at the deadline.
_UNDER_SUBREAPER = (sys.executable, "-m", "capomastro_changes.probes.subreaper")
# After the script exits: how long what it wrote may still take to arrive.
_DRAIN = 0.2


def _run(argv, cwd, env, timeout, max_output) -> tuple[int, bytes, bytes]:
    """Run ``argv``, collecting stdout and stderr up to the cap, ending it at the deadline.

    The answer is read when the script exits, not when its pipes close: a child
    left holding stdout delays nothing (and is ended with everything else the
    script started).
    """
    try:
        proc = subprocess.Popen(
            [*_UNDER_SUBREAPER, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise ScriptError(f"could not start it ({exc.strerror})") from None
    with proc, selectors.DefaultSelector() as selector:
        output = {proc.stdout: bytearray(), proc.stderr: bytearray()}
        for pipe in output:
            selector.register(pipe, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            _collect(proc, selector, output, deadline, timeout, max_output)
        except ScriptError:
            _end(proc)
            raise
        code = proc.wait()
    return code, bytes(output[proc.stdout]), bytes(output[proc.stderr])


def _collect(proc, selector, output, deadline: float, timeout: float, max_output: int) -> None:
    """Read both pipes until they close, or until the script has exited and they are drained."""
    drain_until = None
    while selector.get_map():
        now = time.monotonic()
        if drain_until is None and proc.poll() is not None:
            drain_until = now + _DRAIN
        if drain_until is not None and now >= drain_until:
            return  # exited; what is still open belongs to a process being ended
        if now >= deadline:
            raise ScriptError(f"no answer within {timeout:g} seconds; killed")
        wait = min(deadline, drain_until or now + 0.05) - now
        for key, _ in selector.select(max(0.0, wait)):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
            output[key.fileobj] += chunk
            if len(output[key.fileobj]) > max_output:
                raise ScriptError(f"more than {max_output} bytes of output; killed")


def _end(proc: subprocess.Popen) -> None:
    """End the script and everything it started: the subreaper first, then its session."""
    try:
        proc.send_signal(signal.SIGTERM)  # the subreaper ends all below it, then itself
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _first_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    return redact_text(next((line for line in lines if line), ""))[:300]


def _failed(source: SourceRef, message: str, started: float, missing: bool = False):
    text = f"{redact_url(source.url)}: {message}"
    return ProbeAnswer(source, error=text, missing=missing, seconds=_since(started))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 6)


class ScriptProbe:
    """A job type's probe script as a :class:`~capomastro_changes.probes.base.Probe`.

    Limits not given here are read from the app's settings at each call.

    Args:
        branch_dir: The job type's bygmester branch.
        script: The script's path in that branch.
    """

    def __init__(self, branch_dir: str | os.PathLike, script: str = "probe") -> None:
        self.branch_dir = branch_dir
        self.script = script

    def __call__(
        self, source: SourceRef, last: Iterable[Revision] = (), timeout: float | None = None
    ) -> ProbeAnswer:
        """Run the script for ``source`` (with the first of ``last``, if any) for at most
        ``timeout`` seconds (None: ``PROBE_TIMEOUT``)."""
        from capomastro_changes.conf import settings

        lasts = [last] if isinstance(last, Revision) else list(last)
        return run_script(
            self.branch_dir, self.script, source, lasts[0] if lasts else None,
            timeout=settings.PROBE_TIMEOUT if timeout is None else timeout,
            max_output=settings.PROBE_MAX_OUTPUT, allowed_schemes=settings.ALLOWED_SCHEMES,
        )  # fmt: skip
