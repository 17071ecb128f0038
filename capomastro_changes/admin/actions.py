"""Operator actions: check now, rebuild now, release a stuck lock, enable and disable.

Each action works on the dependencies or sources the model admin maps its
selection to (``selected_dependencies`` / ``selected_sources``), so the same
action serves the sources list and the dependencies list. Rebuilds and lock
releases go through the same requests and locks as change detection: an
operator cannot start a second build of a dependency that is building.

Each action names the permission it needs (:class:`ActionPermissions`): seeing
a list is not enough to act on it. "Check now" sends the checks to the Celery
workers, the same task the sweep sends, so the web request never waits for a
probe; each outcome joins the source's check history when its check ends.
"""

from __future__ import annotations

import logging

from celery.exceptions import CeleryError
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from kombu.exceptions import KombuError

from bygmester_hooks import bounds
from capomastro_changes import revisions
from capomastro_changes.admin import locking
from capomastro_changes.admin.badges import lock_summary
from capomastro_changes.models import RebuildRequest, SourceState
from capomastro_changes.rebuilds.requests import request_rebuild

log = logging.getLogger(__name__)
NAMED_IN_MESSAGE = 5


class ActionPermissions:
    """The permissions behind the actions, whichever list they are run from.

    A check writes the source's state and history, so it needs the right to
    change sources; rebuilding, releasing a lock and enabling act on
    dependencies, so they need the right to change dependencies. A staff user
    who may only view sees neither the actions nor their effects.
    """

    def has_check_sources_permission(self, request) -> bool:
        return request.user.has_perm("capomastro_changes.change_source")

    def has_change_dependencies_permission(self, request) -> bool:
        return request.user.has_perm("capomastro_changes.change_dependency")


@admin.action(description="Check now (sent to the workers)", permissions=["check_sources"])
def check_now(modeladmin, request, queryset):
    """Send one check task per selected source; the page says which went, not how they end.

    A source another check holds when its task runs is left due by that task
    (``detection.check``), so the next sweep reads it again.
    """
    from capomastro_changes.tasks import check_source

    sources = list(modeladmin.selected_sources(queryset).order_by("pk"))
    try:
        for source in sources:
            check_source.delay(source.pk)
    except (KombuError, CeleryError, OSError) as exc:
        log.error("check now not sent: the Celery broker did not answer: %s", exc)
        modeladmin.message_user(
            request,
            "Could not send the checks: the Celery broker did not answer "
            f"({type(exc).__name__}). Nothing was checked.",
            messages.ERROR,
        )
        return
    modeladmin.message_user(request, checks_sent_message(sources))


def checks_sent_message(sources) -> str:
    """What the operator reads after "check now": which checks went, and where to look."""
    named = ", ".join(str(s) for s in sources[:NAMED_IN_MESSAGE])
    if len(sources) > NAMED_IN_MESSAGE:
        named += f" and {len(sources) - NAMED_IN_MESSAGE} more"
    return (
        f"Check of {named} sent to the workers; each outcome joins the source's check "
        "history as soon as its check ends (a source being checked already is checked "
        "again by the next sweep)."
    )


@admin.action(
    description="Rebuild now (a manual request, through the locks)",
    permissions=["change_dependencies"],
)
def rebuild_now(modeladmin, request, queryset):
    user = request.user.get_username()
    deps = modeladmin.selected_dependencies(queryset).select_related("source__state")
    for dep in deps:
        state = getattr(dep.source, "state", None) if dep.source_id else None
        revision, revno = dep.last_built_revision, dep.last_built_revno
        if state is not None and state.last_revision:
            revision, revno = state.last_revision, state.last_revno
        made = request_rebuild(
            dep, revision, "manual", revno=revno,
            previous_revision=dep.last_built_revision, requested_by=user,
        )  # fmt: skip
        modeladmin.message_user(request, rebuild_message(dep, revision, made, revno))


def rebuild_message(
    dep, revision: str, made: RebuildRequest | None, revno: int | None = None
) -> str:
    at = revisions.short_revision(revision, revno, "its current revision")
    if made is not None:
        return f"{dep}: rebuild at {at} requested (request #{made.pk})."
    active = RebuildRequest.objects.active().filter(dependency=dep, revision=revision).first()
    which = f" (request #{active.pk}, {active.state})" if active else ""
    return f"{dep}: a rebuild at {at} is already requested{which}; nothing new."


def set_enabled(modeladmin, request, queryset, enabled: bool) -> None:
    """Update the dependencies, then the sources' due-index copies (update() sends no signal)."""
    deps = modeladmin.selected_dependencies(queryset)
    source_ids = set(deps.exclude(source=None).values_list("source_id", flat=True))
    count = deps.update(changes_enabled=enabled)
    for state in SourceState.objects.filter(source_id__in=source_ids).select_related("source"):
        state.refresh_from_dependencies()
    word = "enabled" if enabled else "disabled"
    modeladmin.message_user(request, f"Change-based builds {word} for {count} dependencies.")


@admin.action(description="Enable change-based builds", permissions=["change_dependencies"])
def enable(modeladmin, request, queryset):
    set_enabled(modeladmin, request, queryset, True)


@admin.action(description="Disable change-based builds", permissions=["change_dependencies"])
def disable(modeladmin, request, queryset):
    set_enabled(modeladmin, request, queryset, False)


def held_lock(dep) -> dict | None:
    """What the confirmation page says of a held lock: holder, since, expiry, its request."""
    state = locking.read_lock(dep.pk)
    if state is None or state.holder is None:
        return None
    request_id = state.holder.request
    number = bounds.whole_number(request_id, bounds.BIGINT_MAX)
    found = RebuildRequest.objects.filter(pk=number).first() if number is not None else None
    return {
        "dependency": dep,
        "lock": lock_summary(state),
        "label": locking.holder_label(state.holder),
        "request": found,
    }


@admin.action(description="Release a stuck build lock…", permissions=["change_dependencies"])
def release_lock(modeladmin, request, queryset):
    """Ask for confirmation naming each holder; on confirmation, release exactly those.

    From the sources list, the locks are those of each selected source's
    dependencies: the page names every holder all the same.
    """
    deps = list(modeladmin.selected_dependencies(queryset).select_related("job"))
    if request.POST.get("post") == "yes":
        release_confirmed(modeladmin, request, deps)
        return None
    held = [row for row in map(held_lock, deps) if row is not None]
    if not held:
        modeladmin.message_user(
            request, "None of these dependencies holds a lock.", messages.WARNING
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Release stuck build locks?",
        "opts": modeladmin.model._meta,
        "held": held,
        "selected": list(queryset.values_list("pk", flat=True)),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(
        request, "admin/capomastro_changes/release_lock_confirmation.html", context
    )


def release_confirmed(modeladmin, request, deps) -> None:
    """Release the locks the confirmation page named (and only those), one message each."""
    user = request.user.get_username()
    for dep in deps:
        confirmed = request.POST.get(f"holder-{dep.pk}")
        if confirmed is None:
            continue  # held nothing when the page was shown: nothing was confirmed
        done = locking.release_stuck(dep, confirmed, user)
        modeladmin.message_user(
            request, done.message, messages.SUCCESS if done.ok else messages.WARNING
        )
