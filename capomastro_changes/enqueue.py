"""The one door from the engine to the task queue: work is asked for by task name.

The stages never import :mod:`capomastro_changes.tasks`, the layer above
them; they name the task they want here. Work that reads rows written in the
current transaction is sent when it commits, never before. The tasks are
registered when Django starts (``CapomastroChangesConfig.ready``), so every
process that runs the engine can send them.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction


def send(name: str, *args, **options) -> None:
    """Send task ``name`` with ``args`` now (``options`` as Celery's ``apply_async``)."""
    current_app.tasks[name].apply_async(args=args, **options)


def after_commit(name: str, *args, **options) -> None:
    """Send task ``name`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(name, *args, **options))


def runs_eagerly() -> bool:
    """True when sent tasks run at once in this process (a site without a worker, a test)."""
    return bool(current_app.conf.task_always_eager)
