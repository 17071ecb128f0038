"""A job type's probe script path cannot lead outside the job type's branch directory:
not with ``..``, not as an absolute path, not through a symlink. The admin refuses
such a path when the job type is saved; the script probe refuses it again when run
(the Jenkins probe job's own guard is tested in tests/probes/test_jenkins_probe.py)."""

import os

import pytest
from django.core.exceptions import ValidationError

from capomastro_changes.models import JobType
from capomastro_changes.probes.script import ScriptError, ScriptProbe, resolve_script
from capomastro_changes.revisions import SourceRef

ANSWER = '#!/bin/sh\necho \'{"revision": "abc"}\'\n'


@pytest.fixture
def branch(tmp_path):
    root = tmp_path / "branch"
    (root / "probes").mkdir(parents=True)
    for path in (root / "probes" / "probe", tmp_path / "outside"):
        path.write_text(ANSWER)
        path.chmod(0o755)
    os.symlink(tmp_path / "outside", root / "link-out")
    os.symlink(tmp_path, root / "dir-link-out")
    os.symlink(root / "probes" / "probe", root / "link-in")
    return root


@pytest.mark.parametrize(
    "script",
    ["../outside", "probes/../../outside", "link-out", "dir-link-out/outside", "ABSOLUTE"],
)
def test_a_path_out_of_the_branch_is_refused(branch, script):
    script = str(branch.parent / "outside") if script == "ABSOLUTE" else script
    with pytest.raises(ScriptError, match="leads outside the job type's branch"):
        resolve_script(branch, script)


def test_a_refused_path_is_a_probe_error_and_nothing_runs(branch, tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "outside").write_text(f"#!/bin/sh\ntouch {marker}\n")
    answer = ScriptProbe(branch, "../outside")(
        SourceRef("git", "https://example.com/r.git", "main")
    )
    assert not answer.ok and "leads outside" in answer.error
    assert not marker.exists()


@pytest.mark.parametrize("script", ["probes/probe", "link-in", "./probes/probe"])
def test_paths_inside_the_branch_are_run(branch, script):
    answer = ScriptProbe(branch, script)(SourceRef("git", "https://example.com/r.git", "main"))
    assert answer.ok and answer.revision.id == "abc"


@pytest.mark.parametrize("script", ["probe\x00", "loop/probe"])
def test_a_path_that_cannot_be_resolved_is_a_probe_error_not_a_crash(branch, script):
    os.symlink("loop", branch / "loop")
    answer = ScriptProbe(branch, script)(SourceRef("git", "https://example.com/r.git", "main"))
    assert not answer.ok and "the script path cannot be resolved" in answer.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("../x", "may not contain '..'"),
        ("probes/../../x", "may not contain '..'"),
        ("/etc/x", "must be relative to the job type's bygmester branch"),
        ("-x", "may not start with '-'"),
        ("probe\n", "control characters"),
        ("probe\x00", "control characters"),
        ("", "cannot be blank"),
    ],
)
def test_the_admin_refuses_a_probe_script_path_out_of_the_branch(script, message):
    jobtype = JobType(name="kind", config_xml="<project/>", probe_script=script)
    with pytest.raises(ValidationError) as caught:
        jobtype.full_clean()
    assert message in " ".join(caught.value.message_dict["probe_script"])


@pytest.mark.django_db
@pytest.mark.parametrize("script", ["probe", "probes/git", "./probe", "probe..old", "x-probe"])
def test_ordinary_probe_script_paths_are_accepted(script):
    JobType(name="kind", config_xml="<project/>", probe_script=script).full_clean()
