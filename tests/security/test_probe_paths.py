"""A job type's probe script path cannot lead outside the job type's branch directory:
not with ``..``, not as an absolute path, not through a symlink."""

import os

import pytest

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
