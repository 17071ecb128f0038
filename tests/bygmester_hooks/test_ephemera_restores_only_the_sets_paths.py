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
def endpoints(live_server, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "ephemera": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "stored")},
        },
    }
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
