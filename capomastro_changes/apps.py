"""Django app configuration: wires system checks, signals and SQLite's real limits at start-up."""

from django.apps import AppConfig


class CapomastroChangesConfig(AppConfig):
    name = "capomastro_changes"
    verbose_name = "Change-based builds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing them registers the checks and the signal receivers.
        from capomastro_changes import checks, signals, sqlite_params  # noqa: F401
