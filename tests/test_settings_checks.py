"""Bad settings are caught at start-up by system checks with messages that say what to fix."""

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
