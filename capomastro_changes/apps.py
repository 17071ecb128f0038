"""Django app configuration: wires system checks and signals at start-up."""

from django.apps import AppConfig


class CapomastroChangesConfig(AppConfig):
    name = "capomastro_changes"
    verbose_name = "Change-based builds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from capomastro_changes import checks, signals  # noqa: F401  (registers checks and signals)
