"""The terminal view: ``capomastro-changes check`` and ``status``."""

import pytest

from capomastro_changes.cli.main import main
from capomastro_changes.coordination.keyspaces import keyspaces
from capomastro_changes.models import CheckRecord, Source
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
    assert "give a source id, its URL as the admin shows it, or a dependency name, or --all" in (
        capsys.readouterr().err
    )


def test_a_source_probed_through_jenkins_says_its_probe_runs_there(tmp_path, here, capsys):
    from capomastro_changes.detection import jenkins_check
    from capomastro_changes.models import JobType
    from capomastro_changes.testing.factories import make_job
    from capomastro_changes.testing.world import build_jobtype

    repo = make_git(tmp_path, commits=1)
    jobtype = build_jobtype("probed-in-jenkins", probe_runner=JobType.PROBE_JENKINS)
    dep = make_dependency(
        job=make_job(jobtype=jobtype),
        source=Source.objects.for_location("git", repo.bare.as_uri(), "main"),
    )
    # A probe job already runs in Jenkins for it: its finishing task holds the check lock.
    assert jenkins_check.check_locks().acquire(dep.source_id)
    assert main(["check", str(dep.source_id)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith(": probe running in Jenkins; its result joins the check history")
    assert "skipped" not in line


def test_an_unknown_source_is_named_and_nothing_is_checked(tmp_path, here, capsys):
    from capomastro_changes.models import CheckRecord

    repo = make_git(tmp_path, commits=1)
    known = make_dependency(
        source=Source.objects.for_location("git", repo.bare.as_uri(), "main")
    ).source_id
    assert main(["check", str(known), "999999", "https://nowhere.example/x.git"]) == 2
    err = capsys.readouterr().err
    assert "unknown source '999999'" in err
    assert "unknown source 'https://nowhere.example/x.git'" in err
    assert err.rstrip().endswith("nothing checked")
    assert not CheckRecord.objects.exists()


@pytest.mark.parametrize(
    "written",
    [
        "https://***@git.example.com/libnamed.git",  # as the sources list shows it
        "https://***@git.example.com/libnamed.git [main]",  # as a source is named
        "https://git.example.com/libnamed/",
        "libnamed",  # the dependency's name
    ],
)
def test_a_source_is_named_by_its_url_as_the_admin_shows_it_or_by_a_dependency(here, written):
    from capomastro_changes.cli.console import resolve

    source = Source.objects.for_location(
        "git", "https://deploy:hunter2@git.example.com/libnamed.git", "main"
    )
    make_dependency(name="libnamed", source=source)
    make_dependency(name="libother")
    assert resolve([written]) == [source.pk]


def test_status_with_redis_away_says_so_in_one_line(here, settings, capsys):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = "redis://:redis-password-1@127.0.0.1:1/0"
    settings.CAPOMASTRO_CHANGES_REDIS_SOCKET_TIMEOUT = 0.5
    make_dependency(name="libfoo")
    assert main(["status"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("capomastro-changes status: cannot read the build locks, Redis did not")
    assert err.count("\n") == 1 and "Traceback" not in err and "redis-password-1" not in err


def test_check_with_redis_away_says_so_once_and_checks_nothing(here, settings, capsys):
    settings.CAPOMASTRO_CHANGES_REDIS_URL = "redis://:redis-password-1@127.0.0.1:1/0"
    settings.CAPOMASTRO_CHANGES_REDIS_SOCKET_TIMEOUT = 0.5
    for name in ("libfoo", "libbar", "libbaz"):
        make_dependency(name=name)
    assert main(["check", "--all"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("capomastro-changes check: Redis did not answer (")
    assert err.rstrip().endswith("nothing checked") and "redis-password-1" not in err
    assert not CheckRecord.objects.exists()


def test_a_password_quoted_in_a_check_error_is_shown_as_stars(tmp_path, here, capsys):
    from capomastro_changes.models import JobType
    from capomastro_changes.testing.bygmester import make_bygmester_branch
    from capomastro_changes.testing.factories import make_job
    from capomastro_changes.testing.world import build_jobtype

    says = (
        "#!/bin/sh\necho 'fatal: cannot read https://bot:hunter2@git.example.com/x' >&2\nexit 1\n"
    )
    branch = make_bygmester_branch(tmp_path / "bygmester", {"probe": says})
    jobtype = build_jobtype(
        "scripted", probe_runner=JobType.PROBE_SCRIPT, bygmester_branch=str(branch),
        probe_script="probe",
    )  # fmt: skip
    repo = make_git(tmp_path, commits=1)
    source = Source.objects.for_location("git", repo.bare.as_uri(), "main")
    make_dependency(job=make_job(jobtype=jobtype), source=source)
    assert main(["check", str(source.pk)]) == 1
    out = capsys.readouterr().out
    assert "exited with status 1" in out and "hunter2" not in out


def test_status_shows_each_source_its_outcome_and_who_holds_a_lock(here, capsys):
    dep = make_dependency(name="libfoo")
    keyspaces().locks.acquire(dep.pk, 42)
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
