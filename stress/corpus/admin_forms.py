"""Admin forms given nonsense: chain cycles, self-links, bad intervals, bad URLs and numbers.

Each goes through the admin's own model form (``ModelAdmin.get_form``), as a
staff user's POST would, and must come back invalid with the field's message.
"""

from __future__ import annotations

from django.contrib import admin
from django.test import RequestFactory

from capomastro_changes.models import ChainLink, Dependency, JenkinsServer, Source
from capomastro_changes.testing.factories import make_dependency
from stress.corpus.case import Case, mark


def admin_form_errors(model, data: dict, instance=None) -> str:
    """Validate ``data`` with the admin form of ``model``; its errors in one line."""
    from django.contrib.auth import get_user_model

    model_admin = admin.site._registry[model]
    request = RequestFactory().post("/admin/")
    request.user = get_user_model()(is_staff=True, is_superuser=True)
    form_class = model_admin.get_form(request, instance)
    initial = {}
    if instance is not None:
        form_class_initial = form_class(instance=instance)
        initial = {k: form_class_initial[k].value() for k in form_class.base_fields}
        initial = {k: v for k, v in initial.items() if v is not None}
    mark()
    form = form_class(data={**initial, **data}, instance=instance)
    if form.is_valid():
        return "accepted"
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())


def chain_link_errors(dependency: Dependency, upstream: Dependency) -> str:
    """Add ``upstream`` in the dependency page's chain-link inline; its errors."""
    from django.contrib.auth import get_user_model

    dependency_admin = admin.site._registry[Dependency]
    request = RequestFactory().post("/admin/")
    request.user = get_user_model()(is_staff=True, is_superuser=True)
    inline = next(i for i in dependency_admin.get_inline_instances(request, dependency)
                  if i.model is ChainLink)  # fmt: skip
    form_class = inline.get_formset(request, dependency).form
    mark()
    data = {"upstream": upstream.pk, "dependency": dependency.pk}
    form = form_class(data=data, instance=ChainLink(dependency=dependency))
    if form.is_valid():
        return "accepted"
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())


def cycle(length: int):
    def run() -> str:
        deps = [make_dependency() for _ in range(length)]
        for up, down in zip(deps, deps[1:]):
            ChainLink.objects.create(upstream=up, dependency=down)
        return chain_link_errors(deps[0], upstream=deps[-1])

    return run


def self_link() -> str:
    dep = make_dependency()
    return chain_link_errors(dep, upstream=dep)


def dependency_with(**data):
    def run() -> str:
        dep = make_dependency()
        return admin_form_errors(Dependency, data, instance=dep)

    return run


def server_with(**data):
    def run() -> str:
        base = {"name": f"form-{JenkinsServer.objects.count()}", "url": "https://jenkins.example"}
        return admin_form_errors(JenkinsServer, {**base, **data})

    return run


def source_with(**data):
    def run() -> str:
        return admin_form_errors(Source, {"vcs": "git", "branch": "main", **data})

    return run


def secret_lookup(model, **query):
    """A superuser's list page asked to filter, order or pick by a secret: refused, 403."""

    def run() -> str:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        make_dependency(parameters="TOKEN=corpus-parameter-secret")
        User = get_user_model()
        user = User.objects.filter(username="corpus-root").first() or User.objects.create_superuser(
            "corpus-root", "", "corpus-root-password-1"
        )
        client = Client()
        client.force_login(user)
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        mark()
        answer = client.get(url, query)
        return f"{answer.status_code} {answer.content.decode()[:200]}"

    return run


def secret_lookup_cases() -> list[Case]:
    from django.contrib.auth import get_user_model

    from capomastro_changes.models import Artifact, Build, RebuildRequest

    expect = "^403 "
    asked = [
        (JenkinsServer, {"api_token__startswith": "t"}),
        (JenkinsServer, {"notification_secret__contains": "s"}),
        (JenkinsServer, {"url__contains": ":pass@"}),
        (JenkinsServer, {"_to_field": "api_token", "_popup": "1"}),
        (Source, {"url__icontains": "ghp_"}),
        (Dependency, {"source__url__contains": "@"}),
        (Dependency, {"job__server__api_token__startswith": "t"}),
        (Dependency, {"parameters__contains": "TOKEN="}),
        (RebuildRequest, {"lock_token__startswith": "a"}),
        (RebuildRequest, {"dependency__job__server__notification_secret__regex": "."}),
        (Build, {"parameters__icontains": "secret"}),
        (Artifact, {"url__contains": "token="}),
        (get_user_model(), {"password__startswith": "pbkdf2"}),
    ]
    return [
        Case("admin", f"{model.__name__} list filtered by {next(iter(query))}",
             secret_lookup(model, **query), expect)
        for model, query in asked
    ]  # fmt: skip


def cases() -> list[Case]:
    return [
        *secret_lookup_cases(),
        Case("admin", "chain cycle of two", cycle(2), "would make a cycle"),
        Case("admin", "chain cycle of four", cycle(4), "would make a cycle"),
        Case("admin", "chain link to itself", self_link, "cannot depend on itself|must differ"),
        Case("admin", "interval of 5 seconds", dependency_with(check_interval=5),
             "check_interval: .*(greater than or equal to 10)"),
        Case("admin", "interval of -1", dependency_with(check_interval=-1),
             "check_interval: .*(greater than or equal|positive)"),
        Case("admin", "interval not a number", dependency_with(check_interval="soon"),
             "check_interval: .*whole number"),
        Case("admin", "busy policy unknown", dependency_with(busy_policy="panic"),
             "busy_policy: .*valid choice"),
        Case("admin", "server URL javascript:", server_with(url="javascript:alert(1)"),
             "url: .*valid URL"),
        Case("admin", "server cap negative", server_with(max_builds_in_flight=-2),
             "max_builds_in_flight: .*greater than or equal to 0"),
        Case("admin", "source URL option", source_with(url="--upload-pack=id"),
             "url: .*may not start with '-'"),
        Case("admin", "source branch with ..", source_with(url="https://e.com/r", branch="a/../b"),
             "branch: .*'\\.\\.'"),
    ]  # fmt: skip
