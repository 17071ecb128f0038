"""Fixtures for the probe tests: the app's probe settings, narrowed for speed."""

from __future__ import annotations

import pytest


@pytest.fixture
def probe_settings(settings):
    """Let tests read local paths and loopback servers, with a short time limit."""
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "git", "http", "bzr")
    settings.CAPOMASTRO_CHANGES_PROBE_TIMEOUT = 1.0
    settings.CAPOMASTRO_CHANGES_PROBE_MAX_OUTPUT = 4096
    return settings
