"""git over ssh: the ``ssh`` client run from an argv list, read within the deadline.

dulwich hands on ``GIT_SSH_COMMAND`` from the environment and a password
from the URL; this runner ignores both and always runs ``ssh`` with fixed
options, the host after
``--`` (so it can never be read as an option), batch mode (no password
prompt that would hang the worker) and, for protocol v2, ``GIT_PROTOCOL``
passed with ``SetEnv``. The remote command is the one string ssh can carry:
dulwich quotes the path in it for the remote login shell.
"""

from __future__ import annotations

import subprocess

from dulwich.client import SSHGitClient, SSHVendor

from capomastro_changes.vcs.limits import Budget, PipeStream


class SSHClient(SSHGitClient):
    """ssh:// whose connections are closed by the reader even when a read fails.

    Args:
        location: The checked location (host, port, user).
        budget: The read's budget.
        opened: Where each connection is added, for the caller to close.
    """

    def __init__(self, location, budget: Budget, opened: list) -> None:
        vendor = SSHRunner(budget, opened)
        super().__init__(location.host, location.port, location.username, vendor=vendor)
        self._opened = opened

    def _connect(self, cmd, path, protocol_version=None):
        proto, can_read, stderr = super()._connect(cmd, path, protocol_version)
        self._opened.append(proto)
        return proto, can_read, stderr


class SSHRunner(SSHVendor):
    """Runs the ``ssh`` client from an argv list, with the read's deadline."""

    def __init__(self, budget: Budget, opened: list) -> None:
        self._budget = budget
        self._opened = opened

    def run_command(
        self,
        host,
        command,
        username=None,
        port=None,
        password=None,
        key_filename=None,
        ssh_command=None,
        protocol_version=None,
    ):
        """Start ``ssh`` for ``command`` on ``host``; the connection object dulwich reads."""
        proc = subprocess.Popen(
            ssh_argv(host, command, username, port, key_filename, protocol_version, self._budget),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
        connection = SSHProcess(proc, self._budget)
        self._opened.append(connection)
        return connection


def ssh_argv(host, command, username, port, key_filename, protocol_version, budget) -> list[str]:
    """The ``ssh`` command line: options first, then ``--``, the host and the remote command."""
    connect_timeout = max(1, int(budget.remaining()))
    argv = ["ssh", "-x", "-T", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
    if port:
        argv += ["-p", str(port)]
    if username:
        argv += ["-l", username]
    if key_filename:
        argv += ["-i", key_filename]
    if protocol_version == 2:
        argv += ["-o", "SetEnv=GIT_PROTOCOL=version=2"]
    command = command.decode() if isinstance(command, bytes) else command
    return [*argv, "--", host, command]


class SSHProcess:
    """The ``ssh`` child as dulwich's connection object, reads bounded by the deadline."""

    def __init__(self, proc: subprocess.Popen, budget: Budget) -> None:
        self.proc = proc
        self.stderr = proc.stderr
        self._stream = PipeStream(proc.stdout.fileno(), budget)
        self.read = self._stream.read
        self.can_read = self._stream.can_read

    def write(self, data: bytes) -> None:
        """Send ``data`` to the remote command."""
        self.proc.stdin.write(data)

    def close(self) -> None:
        """End the ssh child and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pipe.close()
