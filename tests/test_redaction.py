"""The one redactor: every credential a URL or a message can carry is masked."""

from __future__ import annotations

import pytest

from capomastro_changes.redaction import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bob:pw@example.com/x.git", "https://***@example.com/x.git"),
        ("https://ghp_abc123@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("https://oauth2:glpat-x@gitlab.com/o/r.git", "https://***@gitlab.com/o/r.git"),
        ("https://a@b:c@host/x", "https://***@host/x"),
        ("https://host/x?private_token=abc&b=2", "https://host/x?private_token=***&b=2"),
        ("https://host/x?access_token=abc", "https://host/x?access_token=***"),
        ("https://host/x.git", "https://host/x.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("http://host:99999/x", "http://<unparsable address>"),
    ],
)
def test_every_credential_in_a_url_is_masked(url, shown):
    assert redact_url(url) == shown


def test_every_url_in_a_message_is_masked():
    text = "failed on http://bob:pw@h/x and ssh://tok@h/y; see /p/?secret=s3 now"
    assert redact_text(text) == "failed on http://***@h/x and ssh://***@h/y; see /p/?secret=*** now"


def test_known_secrets_are_masked_wherever_they_appear():
    assert redact_text("token t0k3n was refused", known=["t0k3n", ""]) == "token *** was refused"


def test_nothing_becomes_an_empty_string():
    assert redact_text(None) == ""


@pytest.mark.parametrize(
    "line",
    ["/n/?x=1;secret=TOPSEKRIT9", "/n/?secret%3DTOPSEKRIT9", "/n/?a=1&SECRET%3dTOPSEKRIT9"],
)
def test_a_semicolon_separator_or_an_encoded_equals_sign_hides_no_secret(line):
    assert "TOPSEKRIT9" not in redact_text(line)
