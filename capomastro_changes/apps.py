"""Django app configuration: wires system checks, signals, tasks and SQLite's real limits."""

from django.apps import AppConfig


class CapomastroChangesConfig(AppConfig):
    name = "capomastro_changes"
    verbose_name = "Change-based builds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing them registers the checks, the signal receivers and the tasks
        # (the engine sends tasks by name through capomastro_changes.enqueue).
        from capomastro_changes import checks, signals, tasks  # noqa: F401
        from capomastro_changes.models import sqlite_limits  # noqa: F401
