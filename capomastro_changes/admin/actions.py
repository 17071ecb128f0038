"""Operator actions: check now, rebuild now, release a stuck lock, enable and disable.

Each action works on the dependencies or sources the model admin maps its
selection to (``selected_dependencies`` / ``selected_sources``), so the same
action serves the sources list and the dependencies list. Rebuilds and lock
releases go through the same requests and locks as change detection: an
operator cannot start a second build of a dependency that is building.

"Check now" probes in this request, at most ``CHECK_NOW_AT_ONCE`` sources (a
probe is bounded by PROBE_TIMEOUT), and reports each outcome; the rest of a
larger selection is made due for the sweep, which checks it within a minute.
"""

from __future__ import annotations

import logging

import redis
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from capomastro_changes import checking, rebuilds, sweep
from capomastro_changes.admin import locking
from capomastro_changes.admin.badges import lock_summary, redact_text
from capomastro_changes.locks import LockError
from capomastro_changes.models import RebuildRequest, SourceState
from capomastro_changes.source_probes import jenkins_job_for

log = logging.getLogger(__name__)
CHECK_NOW_AT_ONCE = 10
LEVELS = {"error": messages.ERROR, "missing": messages.ERROR, "rewritten": messages.WARNING}


@admin.action(description="Check now (probe here, report the outcome)")
def check_now(modeladmin, request, queryset):
    sources = list(modeladmin.selected_sources(queryset))
    for source in sources[:CHECK_NOW_AT_ONCE]:
        level, text = check_one(source)
        modeladmin.message_user(request, text, level)
    later = [s.pk for s in sources[CHECK_NOW_AT_ONCE:]]
    if later:
        sweep.make_due(later)
        modeladmin.message_user(
            request, f"{len(later)} more sources made due: the sweep checks them within a minute."
        )


def check_one(source) -> tuple[int, str]:
    """Probe one source now; the message level and text that say what came of it."""
    try:
        record = checking.check_source(source.pk)
    except (LockError, redis.RedisError) as exc:
        return messages.ERROR, f"{source}: could not check: {redact_text(str(exc))}"
    if record is None and jenkins_job_for(source.pk) is not None:
        return messages.INFO, f"{source}: probe started in Jenkins; its result joins the history."
    if record is None:
        return messages.WARNING, f"{source}: a check is running already; see the history."
    text = f"Checked {source}: {record.outcome}"
    if record.new_revision:
        text += f" at {record.new_revno or record.new_revision[:12]}"
    if record.error:
        text += f": {redact_text(record.error)}"
    return LEVELS.get(record.outcome, messages.SUCCESS), text


@admin.action(description="Rebuild now (a manual request, through the locks)")
def rebuild_now(modeladmin, request, queryset):
    user = request.user.get_username()
    deps = modeladmin.selected_dependencies(queryset).select_related("source__state")
    for dep in deps:
        state = getattr(dep.source, "state", None) if dep.source_id else None
        revision, revno = dep.last_built_revision, dep.last_built_revno
        if state is not None and state.last_revision:
            revision, revno = state.last_revision, state.last_revno
        made = rebuilds.request_rebuild(
            dep, revision, "manual", revno=revno,
            previous_revision=dep.last_built_revision, requested_by=user,
        )  # fmt: skip
        modeladmin.message_user(request, rebuild_message(dep, revision, made))


def rebuild_message(dep, revision: str, made: RebuildRequest | None) -> str:
    at = revision[:12] or "its current revision"
    if made is not None:
        return f"{dep}: rebuild at {at} requested (request #{made.pk})."
    active = RebuildRequest.objects.filter(dependency=dep, revision=revision).first()
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


@admin.action(description="Enable change-based builds")
def enable(modeladmin, request, queryset):
    set_enabled(modeladmin, request, queryset, True)


@admin.action(description="Disable change-based builds")
def disable(modeladmin, request, queryset):
    set_enabled(modeladmin, request, queryset, False)


def held_lock(dep) -> dict | None:
    """What the confirmation page says of a held lock: holder, since, expiry, its request."""
    state = locking.read_lock(dep.pk)
    if state is None or state.holder is None:
        return None
    request_id = state.holder.request
    found = RebuildRequest.objects.filter(pk=request_id).first() if request_id.isdigit() else None
    return {
        "dependency": dep,
        "lock": lock_summary(state),
        "label": locking.holder_label(state.holder),
        "request": found,
    }


@admin.action(description="Release a stuck build lock…")
def release_lock(modeladmin, request, queryset):
    """Ask for confirmation naming each holder; on confirmation, release exactly those."""
    deps = list(modeladmin.selected_dependencies(queryset).select_related("job"))
    if request.POST.get("post") == "yes":
        user = request.user.get_username()
        for dep in deps:
            confirmed = request.POST.get(f"holder-{dep.pk}", "")
            done = locking.release_stuck(dep, confirmed, user)
            modeladmin.message_user(
                request, done.message, messages.SUCCESS if done.ok else messages.WARNING
            )
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
        "selected": [dep.pk for dep in deps],
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(
        request, "admin/capomastro_changes/release_lock_confirmation.html", context
    )
