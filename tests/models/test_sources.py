"""Sources: shared per repository and branch, and refused when they could be abused."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from capomastro_changes.models import Source, SourceState
from capomastro_changes.testing.factories import make_dependency

pytestmark = pytest.mark.django_db


def test_two_dependencies_on_the_same_repository_and_branch_share_one_source():
    a = make_dependency(
        source=Source.objects.for_location("git", "https://h.example/r.git", "main")
    )
    b = make_dependency(
        source=Source.objects.for_location("git", "HTTPS://H.example/r/", "refs/heads/main")
    )
    assert a.source_id == b.source_id
    assert Source.objects.count() == 1


def test_another_branch_of_the_same_repository_is_another_source():
    a = Source.objects.for_location("git", "https://h.example/r.git", "main")
    b = Source.objects.for_location("git", "https://h.example/r.git", "stable")
    assert a.pk != b.pk


def test_a_new_source_gets_its_stored_state_row():
    source = Source.objects.for_location("bzr", "bzr://h.example/trunk")
    assert SourceState.objects.get(source=source).last_revision == ""


@pytest.mark.parametrize(
    ("vcs", "url", "branch", "field", "message"),
    [
        ("svn", "https://h.example/r", "", "vcs", "Unknown VCS 'svn'"),
        ("git", "", "main", "url", "The source URL is empty."),
        ("git", "   ", "main", "url", "The source URL is empty."),
        ("git", "-oProxyCommand=touch /tmp/x", "main", "url", "may not start with '-'"),
        ("git", "ext::sh -c touch% /tmp/pwned", "main", "url", "'ext::' are not allowed"),
        ("git", "https://h.example/r", "a/../b", "branch", "may not contain '..'"),
        ("git", "https://h.example/r", "--upload-pack=evil", "branch", "may not start with '-'"),
        ("git", "https://h.example/r", "ma\nin", "branch", "control characters"),
        ("git", "https://h.example/r", "x" * 300, "branch", "longer than 255"),
        # What a probe's URL policy would refuse, refused at once:
        ("bzr", "git://h.example/x", "", "url", "The 'git' scheme cannot be read for bzr"),
        ("git", "bzr+ssh://h.example/x", "", "url", "cannot be read for git"),
        ("git", "sftp://h.example/x.git", "main", "url", "cannot be read for git"),
        ("git", "relative/x.git", "main", "url", "Not a URL or an absolute path"),
        ("git", "https://h.example/x.git", "refs/.hidden", "branch", "not a valid git branch"),
        ("git", "https://h.example/x.git", "a@{1}", "branch", "not a valid git branch"),
    ],
)
def test_bad_sources_are_refused_with_a_clear_message(vcs, url, branch, field, message):
    with pytest.raises(ValidationError) as caught:
        Source.objects.for_location(vcs, url, branch)
    assert message in " ".join(caught.value.message_dict[field])
    assert Source.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"vcs": "svn"}, "source_known_vcs"),
        ({"url": "-oProxyCommand=x", "url_key": "-o"}, "source_url_not_option"),
        ({"branch": "a..b"}, "source_branch_safe"),
    ],
)
def test_the_database_refuses_bad_sources_even_past_the_model_layer(fields, constraint):
    values = {"vcs": "git", "url": "https://h.example/r", "url_key": "k", "branch": "main"}
    values.update(fields)
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Source.objects.bulk_create([Source(**values)])
    assert constraint in str(caught.value)  # that one, not any CHECK that happened to fail


def test_the_same_location_cannot_be_stored_twice():
    Source.objects.for_location("git", "https://h.example/r.git", "main")
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(vcs="git", url="https://h.example/r/", branch="main")


def test_the_source_state_follows_its_dependencies_settings():
    dep = make_dependency(priority=5, check_interval=60)
    state = SourceState.objects.get(source=dep.source)
    assert (state.enabled, state.priority, state.interval) == (True, 5, 60)
    dep.changes_enabled = False
    dep.save()
    state.refresh_from_db()
    assert state.enabled is False


def test_a_password_in_a_source_url_never_shows_in_its_name():
    source = Source.objects.for_location("git", "https://bob:hunter2@h.example/r.git", "main")
    assert "hunter2" not in str(source)
    assert "bob" not in str(source)  # a user name alone may be a token
