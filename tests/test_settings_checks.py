"""Bad settings are caught at start-up by system checks with messages that say what to fix."""

import pytest

from capomastro_changes.checks import check_settings


def test_the_defaults_pass_the_checks():
    assert check_settings() == []


def test_a_negative_timeout_is_reported_by_name(settings):
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = -1
    [error] = check_settings()
    assert error.id == "capomastro_changes.E001"
    assert "CAPOMASTRO_CHANGES_PROBE_TIMEOUT must be a positive number" in error.msg


def test_an_unknown_url_scheme_is_named(settings):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ["https", "gopher"]
    [error] = check_settings()
    assert "unknown: gopher" in error.msg


def test_a_default_interval_outside_its_bounds_is_refused(settings):
    settings.CAPOMASTRO_CHANGES_CHECK_INTERVAL = 5
    [error] = check_settings()
    assert error.id == "capomastro_changes.E003"


def test_a_negative_build_cap_is_refused(settings):
    settings.CAPOMASTRO_CHANGES_MAX_BUILDS_IN_FLIGHT = -2
    assert [e.id for e in check_settings()] == ["capomastro_changes.E002"]


def test_a_views_switch_that_is_not_a_boolean_is_refused(settings):
    settings.CAPOMASTRO_CHANGES_JENKINS_VIEWS = "no"  # a string is true: views would be on
    [error] = check_settings()
    assert error.id == "capomastro_changes.E006" and "'no'" in error.msg


def test_a_probe_timeout_a_check_lock_cannot_cover_is_refused(settings):
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 100.0  # more than 0.8 × 120 s
    [error] = check_settings()
    assert error.id == "capomastro_changes.E007" and "CHECK_LOCK_TTL (96 s)" in error.msg


def test_a_large_batch_is_allowed_since_reads_that_cannot_end_in_time_wait(settings):
    settings.CAPOMASTRO_CHANGES_CHECK_BATCH_MAX = 96  # 32 rounds of 3 threads × 30 s
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SWEEP_WORKERS", "4", "positive whole number or None"),
        ("SWEEP_WORKERS", 2.5, "positive whole number or None"),
        ("SWEEP_WORKERS", 0, "positive whole number or None"),
        ("CHECK_BATCH_MAX", 2.5, "positive whole number"),
        ("SWEEP_LIMIT", True, "positive whole number"),
        ("CHECK_BATCH_THREADS", float("inf"), "positive whole number"),
        ("CHECK_LOCK_TTL", float("nan"), "positive number"),
        ("PROBE_TIMEOUT", float("inf"), "positive number"),
    ],
)
def test_settings_a_sweep_could_not_use_are_refused_in_one_line(settings, name, value, says):
    setattr(settings, f"CAPOMASTRO_CHANGES_{name}", value)
    [error] = check_settings()
    assert error.id == "capomastro_changes.E001"
    assert f"CAPOMASTRO_CHANGES_{name} must be a {says}" in error.msg


def test_a_duration_read_as_modules_load_falls_back_so_the_check_can_speak(settings):
    from capomastro_changes.conf import settings as ours

    settings.CAPOMASTRO_CHANGES_CHECK_LOCK_TTL = "2 minutes"
    assert ours.seconds("CHECK_LOCK_TTL") == 120  # the task limits load; the check says:
    assert "CHECK_LOCK_TTL must be a positive number, not '2 minutes'" in check_settings()[0].msg
