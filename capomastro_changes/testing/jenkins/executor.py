"""Running a build: its shell steps in a subprocess, its artifacts, its notifications.

Each ``hudson.tasks.Shell`` step is written to a script file and run as an
argv list, as Jenkins does: with the interpreter from a ``#!`` first line, or
``/bin/sh -xe`` otherwise. The build's parameters and Jenkins' usual
variables are in the environment; the process runs in its own session so
``stop`` can end the whole process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from capomastro_changes.testing.jenkins import archiver
from capomastro_changes.testing.jenkins.config import ShellStep
from capomastro_changes.testing.jenkins.state import Build

KILL_GRACE = 5.0


def build_environment(build: Build, base_url: str, home: Path) -> dict[str, str]:
    """The environment of a build's steps: Jenkins' variables, then the parameters."""
    build_url = f"{base_url}job/{build.job}/{build.number}/"
    env = dict(os.environ)
    env.update(
        BUILD_NUMBER=str(build.number),
        BUILD_ID=str(build.number),
        BUILD_DISPLAY_NAME=f"#{build.number}",
        BUILD_TAG=f"jenkins-{build.job}-{build.number}",
        BUILD_URL=build_url,
        JOB_NAME=build.job,
        JOB_BASE_NAME=build.job,
        JOB_URL=f"{base_url}job/{build.job}/",
        JENKINS_URL=base_url,
        JENKINS_HOME=str(home),
        EXECUTOR_NUMBER=str(build.executor),
        NODE_NAME="built-in",
        WORKSPACE=str(build.workspace),
    )
    env.update(build.parameters or {})
    return env


def step_argv(command: str, script: Path) -> list[str]:
    """The argv Jenkins would use for a Shell step saved as ``script``."""
    first = command.split("\n", 1)[0]
    if first.startswith("#!"):
        return first[2:].split() + [str(script)]
    return ["/bin/sh", "-xe", str(script)]


def run_step(build: Build, step: ShellStep, env: dict[str, str], tmp: Path) -> int:
    """Run one shell step, streaming its output into the console.

    Returns:
        The exit status (negative when killed by a signal).
    """
    handle, name = tempfile.mkstemp(prefix="jenkins", suffix=".sh", dir=tmp)
    script = Path(name)
    with os.fdopen(handle, "w") as out:
        out.write(step.command)
    script.chmod(0o700)
    argv = step_argv(step.command, script)
    build.log(f"[{build.workspace.name}] $ {' '.join(argv)}\n")
    try:
        process = subprocess.Popen(
            argv,
            cwd=build.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        build.log(f"java.io.IOException: Cannot run program {argv[0]!r}: {exc.strerror}\n")
        return 127
    build.process = process
    if build.stop_requested.is_set():
        kill(build)
    with process.stdout:
        for line in process.stdout:
            build.log(line.decode("utf-8", "replace"))
    status = process.wait()
    script.unlink(missing_ok=True)
    return status


def kill(build: Build) -> None:
    """End the build's running step: SIGTERM to its process group, then SIGKILL."""
    process = build.process
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_steps(build: Build, steps, env: dict[str, str], tmp: Path, hang: bool) -> str:
    """Run the steps in order and say the result: SUCCESS, UNSTABLE, FAILURE or ABORTED."""
    if hang:
        build.log("(stand-in: this build hangs until it is stopped)\n")
        build.stop_requested.wait()
        return "ABORTED"
    for step in steps:
        if build.stop_requested.is_set():
            return "ABORTED"
        status = run_step(build, step, env, tmp)
        if build.stop_requested.is_set():
            return "ABORTED"
        if status == 0:
            continue
        build.log(f"Build step 'Execute shell' marked build as failure (exit {status})\n")
        if step.unstable_return is not None and status == step.unstable_return:
            return "UNSTABLE"
        return "FAILURE"
    return "SUCCESS"


def archive_artifacts(build: Build, config, result: str) -> str:
    """Archive what the job's ArtifactArchiver selects; may turn the result into FAILURE."""
    spec = config.archiver
    if spec is None or not spec.artifacts or result == "ABORTED":
        return result
    if spec.only_if_successful and result != "SUCCESS":
        return result
    build.log("Archiving artifacts\n")
    found = archiver.archive(build.workspace, build.archive_dir, spec.artifacts, spec.excludes)
    build.artifacts = found
    if not found and not spec.allow_empty:
        build.log(
            f'ERROR: No artifacts found that match the file pattern "{spec.artifacts}". '
            "Configuration error?\n"
        )
        return "FAILURE"
    return result
