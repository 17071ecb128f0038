"""The job templates shipped in bygmester_hooks, and the lxc-launch launcher they use."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.template import Context, Engine

import bygmester_hooks
from capomastro_changes.testing.jenkins.config import parse_job_config
from capomastro_changes.testing.jenkins.pytest_fixtures import wait_until

HOOKS = Path(bygmester_hooks.__file__).parent
LAUNCHER = HOOKS / "scripts" / "lxc-launch"
FAKE_PROBE = """#!/bin/sh
echo "probing $PROBE_VCS $PROBE_URL branch=$PROBE_BRANCH last=$PROBE_LAST" >&2
echo '{"revision": "deadbeef"}'
"""


def render(template: str, **context) -> str:
    text = (HOOKS / "templates" / template).read_text()
    return Engine(autoescape=True).from_string(text).render(Context(context))


def test_the_build_template_declares_the_parameters_we_trigger_with():
    xml = render("build-job.xml", jobtype="app", notifications_url="https://c/n?a=1&b=2")
    config = parse_job_config(xml)

    names = [p.name for p in config.parameters]
    assert names[:5] == ["BUILD_ID", "REVISION", "PREVIOUS_REVISION", "REASON", "REQUEST_ID"]
    assert [e.url for e in config.endpoints] == ["https://c/n?a=1&b=2"]  # escaped, then read back
    assert config.archiver.artifacts == "build/**"
    assert not config.concurrent


def test_the_probe_job_runs_the_probe_through_the_launcher(
    server, jenkins_standin, tmp_path, monkeypatch
):
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")  # no LXC here: run the probe directly
    server.create_job("probe-app", render("probe-job.xml", jobtype="app", bygmester_branch=""))
    workspace = jenkins_standin.root / "workspace" / "probe-app"
    (workspace / "bygmester").mkdir(parents=True)
    probe = workspace / "bygmester" / "probe"
    probe.write_text(FAKE_PROBE)
    probe.chmod(0o755)
    shutil.copy(LAUNCHER, workspace / "bygmester" / "lxc-launch")

    queue_id = server.build_job("probe-app", {"SOURCE_URL": "lp:app", "LAST_REVISION": "41"})
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]
    assert jenkins_standin.wait_for_build("probe-app", number).result == "SUCCESS"
    console = server.get_build_console_output("probe-app", number)
    assert "probe stderr: probing git lp:app branch= last=41" in console
    assert console.count('capomastro-changes-probe: {"revision": "deadbeef"}') == 1


FAKE_BUILD = """#!/bin/sh
for arg in "$@"; do echo "build argument: [$arg]"; done
"""


def test_the_build_template_passes_the_revision_after_a_double_dash(
    server, jenkins_standin, monkeypatch
):
    """Even a revision that looks like an option reaches the build script as a plain argument."""
    monkeypatch.setenv("CAPOMASTRO_LXC_COMMAND", "")
    server.create_job(
        "build-app",
        render("build-job.xml", jobtype="app", notifications_url="http://127.0.0.1:9/n"),
    )
    workspace = jenkins_standin.root / "workspace" / "build-app"
    (workspace / "bygmester").mkdir(parents=True)
    script = workspace / "bygmester" / "build"
    script.write_text(FAKE_BUILD)
    script.chmod(0o755)
    shutil.copy(LAUNCHER, workspace / "bygmester" / "lxc-launch")

    parameters = {"REVISION": "--output=/etc/passwd", "BYGMESTER_BRANCH": "",
                  "LXC_LAUNCHER": "bygmester/lxc-launch", "REQUEST_ID": "1"}  # fmt: skip
    queue_id = server.build_job("build-app", parameters)
    number = wait_until(lambda: server.get_queue_item(queue_id).get("executable"))["number"]
    jenkins_standin.wait_for_build("build-app", number)
    console = server.get_build_console_output("build-app", number)
    assert "build argument: [--]\nbuild argument: [--output=/etc/passwd]" in console, console


def launch(*argv: str, command: str | None = "", **kwargs):
    env = {"PATH": "/usr/bin:/bin"}
    if command is not None:
        env["CAPOMASTRO_LXC_COMMAND"] = command
    return subprocess.run(
        [str(LAUNCHER), *argv], capture_output=True, text=True, env=env, timeout=30, **kwargs
    )


def test_the_launcher_passes_every_argument_through_untouched(tmp_path):
    done = launch(str(tmp_path), "printf", "[%s]\n", "two words", "*", "$HOME;rm")
    assert done.returncode == 0
    assert done.stdout == "[two words]\n[*]\n[$HOME;rm]\n"


def test_the_launcher_runs_in_the_workdir_and_keeps_the_exit_status(tmp_path):
    (tmp_path / "marker").write_text("here")
    assert launch(str(tmp_path), "cat", "marker").stdout == "here"
    assert launch(str(tmp_path), "sh", "-c", "exit 7").returncode == 7


def test_the_container_command_is_put_before_the_program(tmp_path):
    done = launch(str(tmp_path), "sh", "-c", 'echo "$IN_CONTAINER"', command="env IN_CONTAINER=yes")
    assert done.stdout == "yes\n"


@pytest.mark.parametrize(
    "argv, status, message",
    [(("/no/such/dir", "true"), 66, "no such directory"), (("only-one",), 64, "usage")],
)
def test_the_launcher_refuses_bad_invocations(argv, status, message):
    done = launch(*argv)
    assert done.returncode == status
    assert message in done.stderr
