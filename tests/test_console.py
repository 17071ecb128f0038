"""The terminal view: ``capomastro-changes check`` and ``status``."""

import pytest

from capomastro_changes.cli import main
from capomastro_changes.models import Source
from capomastro_changes.redis_connection import coordination
from capomastro_changes.testing.factories import make_dependency
from capomastro_changes.testing.repos import make_git

pytestmark = pytest.mark.django_db


@pytest.fixture
def here(settings, redis_url, key_prefix):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = redis_url
    settings.CAPOMASTRO_CHANGES_REDIS_PREFIX = key_prefix
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "https")


def test_check_shows_progress_and_each_outcome_as_it_comes(tmp_path, here, capsys):
    repo = make_git(tmp_path, commits=1)
    good = make_dependency(source=Source.objects.for_location("git", repo.bare.as_uri(), "main"))
    gone = make_dependency(
        source=Source.objects.for_location("git", (tmp_path / "nothing.git").as_uri(), "main")
    )
    assert main(["check", "--all"]) == 1  # one source could not be read
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[###############...............] 1/2")
    assert f"#{good.source_id}" in out[0] and out[0].endswith(": baseline")
    assert out[1].startswith("[##############################] 2/2")
    assert f"#{gone.source_id}" in out[1] and ("missing" in out[1] or "error" in out[1])


def test_check_without_sources_says_what_to_give(here, capsys):
    assert main(["check"]) == 2
    assert "give source ids, or --all" in capsys.readouterr().err


def test_status_shows_each_source_its_outcome_and_who_holds_a_lock(here, capsys):
    dep = make_dependency(name="libfoo")
    coordination()[0].acquire(dep.pk, 42)
    other = make_dependency(name="libbar")
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["source", "vcs"]
    held = next(line for line in lines if line.startswith(f"#{dep.source_id} "))
    free = next(line for line in lines if line.startswith(f"#{other.source_id} "))
    assert held.endswith("libfoo: #42 builds") and free.endswith("free")


def test_a_command_run_inside_a_set_up_process_leaves_its_logging_alone(here, capsys):
    import logging

    before = [(h, getattr(h, "stream", None)) for h in logging.getLogger().handlers]
    assert main(["status"]) == 0
    after = [(h, getattr(h, "stream", None)) for h in logging.getLogger().handlers]
    # Re-running Django's set-up would bind fresh handlers to this test's captured
    # stderr, which is closed once the test ends: every later log line would fail.
    assert after == before
