"""``capomastro-changes ephemera``: what is kept, and invalidating it, from the command line."""

from __future__ import annotations

import pytest

from capomastro_changes.cli.main import main
from capomastro_changes.models import Ephemeron, EphemeronUse, RebuildRequest
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept():
    dep = make_dependency(name="libfoo")
    done = RebuildRequest.objects.create(
        dependency=dep, revision="r1", reason="change", state="succeeded"
    )
    archive = Ephemeron.objects.create(
        dependency=dep, name="cargo", key="c" * 64, state=Ephemeron.COMMITTED, paths=["cargo"],
        size=1_500_000, unpacked_size=4_000_000, sha256="d" * 64, made_by_request=done,
    )  # fmt: skip
    return dep, archive


def test_list_shows_each_archive_kept(kept, capsys):
    assert main(["ephemera", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["dependency", "name", "key", "state", "size", "made", "by", "last",
                              "restored"]  # fmt: skip
    assert out[1].split()[:6] == ["libfoo", "cargo", "cccccccccccc", "committed", "1.5", "MB"]


def test_invalidate_ends_the_sets_and_marks_a_build_in_flight_that_used_one(kept, capsys):
    dep, archive = kept
    running = RebuildRequest.objects.create(
        dependency=dep, revision="r2", reason="change", state="building"
    )
    EphemeronUse.objects.create(ephemeron=archive, request=running, kind="restored", outcome="ok")
    assert main(["ephemera", "invalidate", "libfoo", "cargo"]) == 0
    assert "invalidated 1 archive(s) (set cargo of libfoo)" in capsys.readouterr().out
    archive.refresh_from_db()
    assert archive.state == Ephemeron.INVALIDATED and not archive.storage_name
    assert EphemeronUse.objects.get(request=running).used_invalidated
    assert main(["ephemera", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no ephemera kept"


def test_an_unknown_dependency_is_one_line_and_status_2(kept, capsys):
    assert main(["ephemera", "invalidate", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "capomastro-changes ephemera: no dependency named 'nosuch'"
    assert Ephemeron.objects.get().state == Ephemeron.COMMITTED


def test_invalidating_a_set_that_does_not_exist_is_one_line_and_status_2(kept, capsys):
    assert main(["ephemera", "invalidate", "libfoo", "carg"]) == 2
    assert capsys.readouterr().err.strip() == (
        "capomastro-changes ephemera: libfoo has no set named 'carg'"
    )
