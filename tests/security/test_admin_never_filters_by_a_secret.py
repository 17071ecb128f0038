"""No admin page answers a question about a secret, for a view-only staff user or a superuser.

Django's admin filters a list by any of the model's own columns from the
query string, so ``?api_token__startswith=a`` used to answer "one server" or
"none", and a token fell in about 70 requests. Every registered model and
every path to a column that holds or may contain a secret is tried here:
a lookup, a search, an ordering and a pick (``_to_field``) are refused (403)
or ignored (the same answer whether the guess is right or wrong).
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import ForeignKey, OneToOneField
from django.test import Client, RequestFactory
from django.urls import reverse

from capomastro_changes.admin.secret_lookups import (
    SecretLookupGuard,
    _order_param_is_secret,
    guard_every_admin,
)
from capomastro_changes.models import (
    Artifact,
    Build,
    Dependency,
    JenkinsServer,
    RebuildRequest,
    Source,
)
from capomastro_changes.models.secrets import secret_fields
from capomastro_changes.testing.factories import make_dependency, make_server, make_source

pytestmark = pytest.mark.django_db
TOKEN = "tok9f3Kq7zXv"
URL_TOKEN = "ghp_UserOnlyToken42"
QUERY_TOKEN = "pt7Yq2QueryToken"
PARAMETER_SECRET = "param5Secret8Value"
LOCK_TOKEN = "lock3Token6Value9"
PASSWORD = "admin-password-for-guessing-1"


@pytest.fixture
def secrets_world():
    """One row of every model that holds a secret, each secret known to the test."""
    server = make_server(
        url=f"https://{URL_TOKEN}@jenkins.example.com/", api_token=TOKEN,
        notification_secret=f"n{TOKEN}",
    )  # fmt: skip
    source = make_source(
        url=f"https://{URL_TOKEN}@git.example.com/r.git?private_token={QUERY_TOKEN}"
    )
    dep = make_dependency(source=source, parameters=f"TOKEN={PARAMETER_SECRET}")
    dep.job.server = server
    dep.job.save()
    build = Build.objects.create(
        job=dep.job, number=1, parameters={"TOKEN": PARAMETER_SECRET},
        url=f"https://{URL_TOKEN}@jenkins.example.com/job/j/1/",
    )  # fmt: skip
    Artifact.objects.create(build=build, filename="a.tar", url=f"https://{URL_TOKEN}@x.example/a")
    RebuildRequest.objects.create(
        dependency=dep, revision="r1", reason="change", lock_token=LOCK_TOKEN
    )
    return server


def viewer() -> Client:
    """A staff user who may view every model and change none."""
    user = get_user_model().objects.create_user("viewer", password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client = Client()
    client.force_login(user)
    return client


def superuser() -> Client:
    user = get_user_model().objects.create_superuser("root", "", PASSWORD)
    client = Client()
    client.force_login(user)
    return client


def secret_paths(model, depth: int = 3, seen=()) -> list[str]:
    """Every lookup path from ``model`` to a secret column, following foreign keys."""
    paths = sorted(secret_fields(model))
    if depth <= 1:
        return paths
    for field in model._meta.get_fields():
        if isinstance(field, ForeignKey | OneToOneField) and field.related_model not in seen:
            paths += [
                f"{field.name}__{tail}"
                for tail in secret_paths(field.related_model, depth - 1, (*seen, model))
            ]
    return paths


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def listed(answer) -> tuple[int, frozenset[str]]:
    """The answer as far as a guesser can read it: its status and the rows it lists."""
    rows = re.findall(r'href="(/admin/[^"]+/\d+/change/)[^"]*"', answer.content.decode())
    return answer.status_code, frozenset(rows)


WHOLE_ADMIN = [(model, path) for model in admin.site._registry for path in secret_paths(model)]


def test_the_whole_admin_is_covered():
    models_with_paths = {model for model, _ in WHOLE_ADMIN}
    assert {JenkinsServer, RebuildRequest, Build, get_user_model()} <= models_with_paths
    assert len(WHOLE_ADMIN) >= 20


@pytest.mark.parametrize("who", [viewer, superuser], ids=["view-only staff", "superuser"])
def test_no_lookup_by_a_secret_is_answered(secrets_world, who):
    client = who()
    guesses = {"": "", "__startswith": "", "__contains": "", "__icontains": "", "__regex": "."}
    answered = []
    for model, path in WHOLE_ADMIN:
        for suffix, value in guesses.items():
            answer = client.get(changelist(model), {f"{path}{suffix}": value})
            if answer.status_code != 403:
                answered.append((model.__name__, f"{path}{suffix}", answer.status_code))
    assert answered == []


@pytest.mark.parametrize("who", [viewer, superuser], ids=["view-only staff", "superuser"])
def test_a_search_for_a_secret_answers_as_for_a_wrong_guess(secrets_world, who):
    client = who()
    differs = []
    for model in admin.site._registry:
        for right, wrong in ((TOKEN[:5], "zzzzz"), (URL_TOKEN, "ghp_wrong"),
                             (QUERY_TOKEN, "ptWrong"), (PARAMETER_SECRET, "paramWrong"),
                             (LOCK_TOKEN, "lockWrong"), ("pbkdf2", "qzqzqz")):  # fmt: skip
            url = changelist(model)
            if listed(client.get(url, {"q": right})) != listed(client.get(url, {"q": wrong})):
                differs.append((model.__name__, right))
    assert differs == []


@pytest.mark.parametrize("who", [viewer, superuser], ids=["view-only staff", "superuser"])
def test_no_secret_is_picked_as_the_popup_value(secrets_world, who):
    client = who()
    for model, path in WHOLE_ADMIN:
        if "__" in path:
            continue
        answer = client.get(changelist(model), {"_to_field": path, "_popup": "1"})
        assert answer.status_code in (400, 403), (model.__name__, path, answer.status_code)


def test_no_list_column_sorts_by_a_secret(rf=RequestFactory()):
    request = rf.get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)
    sorted_by_secret = []
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, SecretLookupGuard), model.__name__
        columns = model_admin.get_list_display(request)
        for index in range(len(columns)):
            if _order_param_is_secret(model_admin, request, str(index)):
                sorted_by_secret.append((model.__name__, columns[index]))
    assert sorted_by_secret == []


def test_a_column_that_sorts_by_a_secret_is_refused(secrets_world):
    """A column added one day that sorts by the token: ``?o=`` on it is refused."""

    class TokenColumns(admin.ModelAdmin):
        list_display = ("name", "token_hint")

        @admin.display(ordering="api_token")
        def token_hint(self, obj):
            return "set"

    site = admin.AdminSite(name="throwaway")
    site.register(JenkinsServer, TokenColumns)
    guard_every_admin(site)
    model_admin = site._registry[JenkinsServer]
    assert "token_hint" not in model_admin.get_sortable_by(None)
    request = RequestFactory().get("/", {"o": "1"})
    request.user = get_user_model().objects.create_superuser("sorter", "", PASSWORD)
    assert model_admin.changelist_view(request).status_code == 403


KNOWN_ACTIONS = {
    "delete_selected", "check_now", "rebuild_now", "release_lock", "enable", "disable",
    "enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks",  # django-celery-beat's
    "invalidate_archives",  # ephemera: marks archives never to be restored, exports nothing
}  # fmt: skip


def test_no_admin_exports_rows(rf=RequestFactory()):
    """Every action is one of those reviewed here: none of them writes rows out as a file."""
    request = rf.get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)
    actions = set()
    for model_admin in admin.site._registry.values():
        actions |= set(model_admin.get_actions(request))
    assert actions <= KNOWN_ACTIONS, actions - KNOWN_ACTIONS


def test_an_admin_registered_without_the_guard_fails_the_system_check():
    from capomastro_changes.checks import check_admin_guards_secrets

    assert check_admin_guards_secrets() == []
    model, guarded = next(iter(admin.site._registry.items()))
    bare = admin.ModelAdmin(model, admin.site)
    admin.site._registry[model] = bare
    try:
        [error] = check_admin_guards_secrets()
    finally:
        admin.site._registry[model] = guarded
    assert error.id == "capomastro_changes.E008" and model._meta.label in error.msg


@pytest.mark.parametrize("who", [viewer, superuser], ids=["view-only staff", "superuser"])
def test_a_number_beyond_the_database_is_refused_not_a_crash(secrets_world, who, caplog):
    client = who()
    asked = [
        (Build, {"job__exact": str(2**80)}),
        (Build, {"job__id__in": f"1,{2**70}"}),
        (RebuildRequest, {"dependency": str(2**64)}),
        (Build, {"job__exact": "+" + str(2**80)}),
        (Build, {"job__id__in": f"1,+{2**70}"}),
        (Build, {"number__exact": "9_" + "9" * 30}),
        (Build, {"created_at__year": str(2**80)}),
    ]
    for model, query in asked:
        answer = client.get(changelist(model), query)
        assert answer.status_code == 400, (model.__name__, query, answer.status_code)
    assert "Traceback" not in caplog.text


def test_a_refused_lookup_is_one_log_line_without_the_guess(secrets_world, caplog):
    viewer().get(changelist(JenkinsServer), {"api_token__startswith": "tok9f"})
    refusals = [r for r in caplog.records if "a query by a secret field" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert "tok9f" not in caplog.text and "Traceback" not in caplog.text


def test_who_may_not_change_a_dependency_reads_its_parameter_names_only(secrets_world):
    dep = Dependency.objects.get(parameters__startswith="TOKEN=")
    url = reverse("admin:capomastro_changes_dependency_change", args=[dep.pk])
    seen = viewer().get(url).content.decode()
    assert PARAMETER_SECRET not in seen and "TOKEN=***" in seen
    assert PARAMETER_SECRET in superuser().get(url).content.decode()  # who may change it


def test_who_may_not_change_a_record_reads_none_of_its_secrets_on_its_page(secrets_world):
    """Django shows every field read-only to such a user: none of them may be a secret."""
    looker = viewer()
    shown = {
        "view-only staff": [
            looker.get(reverse(f"admin:capomastro_changes_{name}_change", args=[pk])).content
            for name, pk in (
                ("jenkinsserver", secrets_world.pk),
                ("source", Source.objects.get(url__contains=URL_TOKEN).pk),
                ("build", Build.objects.get().pk),
            )  # fmt: skip
        ],
        "superuser": [  # builds are read-only for everyone
            superuser()
            .get(reverse("admin:capomastro_changes_build_change", args=[Build.objects.get().pk]))
            .content
        ],
    }
    for who, pages in shown.items():
        for page in pages:
            text = page.decode()
            leaks = [s for s in (TOKEN, URL_TOKEN, QUERY_TOKEN, PARAMETER_SECRET) if s in text]
            assert leaks == [], who
    assert "TOKEN=***" in shown["superuser"][0].decode()
