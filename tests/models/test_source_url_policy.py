"""The readers' URL policy where an operator meets it: saving a source, and the setting itself.

A URL the probes would refuse is refused when the source is saved (the admin
shows the message under the URL), not found out at every check.
"""

import pytest
from django.core.exceptions import ValidationError

from capomastro_changes.checks import check_settings
from capomastro_changes.models import Source

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["file:///srv/repo.git", "/srv/repo.git"])
def test_a_local_source_is_refused_when_saved_where_file_is_not_allowed(url):
    with pytest.raises(ValidationError) as caught:
        Source.objects.for_location("git", url, "main")
    [message] = caught.value.message_dict["url"]
    assert message.startswith("The 'file' scheme is not allowed here; this deployment allows https")
    assert Source.objects.count() == 0


def test_a_local_source_is_accepted_where_file_is_allowed(settings, tmp_path):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("https", "file")
    assert Source.objects.for_location("git", tmp_path.as_uri(), "main").pk


def test_a_refused_password_is_not_echoed():
    with pytest.raises(ValidationError) as caught:
        Source.objects.for_location("git", "ftp://bob:hunter2@h.example/x.git", "main")
    assert "hunter2" not in str(caught.value)


def test_a_field_error_is_reported_once_not_again_by_the_policy():
    with pytest.raises(ValidationError) as caught:
        Source.objects.for_location("git", "-oProxyCommand=x", "main")
    assert len(caught.value.message_dict["url"]) == 1


def test_a_scheme_no_reader_speaks_is_refused_by_the_settings_check(settings):
    settings.CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ["https", "sftp"]
    [error] = check_settings()
    assert error.id == "capomastro_changes.E004" and "unknown: sftp" in error.msg
    assert "sftp" not in error.hint
