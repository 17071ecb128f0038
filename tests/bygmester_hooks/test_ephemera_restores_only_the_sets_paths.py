"""A restore writes only the paths the build names for the set, whatever an uploader claimed.

An archive is uploaded with the victim's key but recorded for ``src`` (the
build's own sources: a build made quietly wrong); the next build's restore of
set ``cache`` refuses it whole and leaves ``src/`` as the build checked it out.
Real HTTP to the endpoints on a live server.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bygmester_hooks.ephemera.keys import make_key
from bygmester_hooks.ephemera.packing import pack
from bygmester_hooks.ephemera.restoring import restore
from bygmester_hooks.ephemera.transfer import Server
from capomastro_changes.builds.ephemera.staging import settle_uploads
from capomastro_changes.models import EphemeraGrant, EphemeraPolicy, RebuildRequest
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoints(live_server, ephemera_storage):
    return f"{live_server.url}/changes/ephemera/"


def building(dep, revision: str):
    request = RebuildRequest.objects.create(
        dependency=dep, revision=revision, reason="change", state="building"
    )
    return request, EphemeraGrant.mint(request, timedelta(hours=1))


def test_an_archive_recorded_for_other_paths_is_refused_and_nothing_is_replaced(
    endpoints, tmp_path
):
    dep = make_dependency(name="libfoo")
    EphemeraPolicy.objects.create(dependency=dep)
    key = make_key("cache", ["cache"], [], tmp_path, "rev1")  # the victim's key, known to all
    evil = tmp_path / "evil"
    (evil / "src").mkdir(parents=True)
    (evil / "src" / "main.c").write_text("int main(void) { return backdoor(); }\n")
    packed = pack(evil, ["src"], tmp_path / "evil.tar.gz", 1 << 20)
    attacker, token = building(dep, "r1")
    Server(endpoints, token).upload("cache", key, packed.archive, {
        "X-Ephemera-Unpacked-Size": str(packed.unpacked_size),
        "X-Ephemera-SHA256": packed.sha256,
        "X-Ephemera-Paths": json.dumps(["src"]),
    })  # fmt: skip
    settle_uploads(attacker, None, succeeded=True)

    victim = tmp_path / "victim"
    (victim / "src").mkdir(parents=True)
    (victim / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    _, next_token = building(dep, "r2")
    outcome = restore(Server(endpoints, next_token), victim, "cache", key, False, ["cache"])
    assert not outcome.restored
    assert "refused: it holds src, the set names cache" in outcome.line
    assert (victim / "src" / "main.c").read_text() == "int main(void) { return 0; }\n"
    assert sorted(p.name for p in victim.iterdir()) == ["src"]


def test_the_key_covers_the_paths():
    here = Path(".")
    assert make_key("cache", ["cache"], [], here, "r") != make_key("cache", ["src"], [],
                                                                  here, "r")  # fmt: skip
    assert make_key("cache", ["a", "b"], [], here, "r") == make_key("cache", ["b", "a"], [],
                                                                   here, "r")  # fmt: skip


def committed_set(endpoints, tmp_path, dep, paths: list[str], key: str):
    """An archive of ``paths`` (each a directory holding ``new``), committed by a SUCCESS."""
    made = tmp_path / "made"
    for path in paths:
        (made / path).mkdir(parents=True)
        (made / path / "new").write_text("from the archive")
    packed = pack(made, paths, tmp_path / "set.tar.gz", 1 << 20)
    request, token = building(dep, "made")
    Server(endpoints, token).upload("two", key, packed.archive, {
        "X-Ephemera-Unpacked-Size": str(packed.unpacked_size),
        "X-Ephemera-SHA256": packed.sha256, "X-Ephemera-Paths": json.dumps(paths),
    })  # fmt: skip
    settle_uploads(request, None, succeeded=True)


def test_a_restore_refused_at_its_second_path_has_not_touched_its_first(endpoints, tmp_path):
    dep = make_dependency(name="libfoo")
    EphemeraPolicy.objects.create(dependency=dep)
    paths = ["a", "z/b"]
    key = make_key("two", paths, [], tmp_path, "rev1")
    committed_set(endpoints, tmp_path, dep, paths, key)
    victim, outside = tmp_path / "victim", tmp_path / "outside"
    (victim / "a").mkdir(parents=True)
    (victim / "a" / "old").write_text("pristine")
    outside.mkdir()
    (victim / "z").symlink_to(outside)
    _, token = building(dep, "next")
    outcome = restore(Server(endpoints, token), victim, "two", key, False, paths)
    assert not outcome.restored and "z/b: its directory leads out of the workspace" in outcome.line
    assert sorted(p.name for p in (victim / "a").iterdir()) == ["old"]  # left as it was
    assert list(outside.iterdir()) == []


def test_a_workspace_that_cannot_be_written_is_one_line_and_no_failure(endpoints, tmp_path):
    dep = make_dependency(name="libfoo")
    EphemeraPolicy.objects.create(dependency=dep)
    key = make_key("two", ["a"], [], tmp_path, "rev1")
    committed_set(endpoints, tmp_path, dep, ["a"], key)
    _, token = building(dep, "next")
    nowhere = tmp_path / "no-such-workspace"
    outcome = restore(Server(endpoints, token), nowhere, "two", key, False, ["a"])
    assert not outcome.restored
    assert outcome.line.startswith("two not restored: cannot write the workspace (")
    assert outcome.line.endswith("building from pristine")
