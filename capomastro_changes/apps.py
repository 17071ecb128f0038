"""Django app configuration: wires system checks, signals, tasks, SQLite's real limits
and the admin's guard on secret fields."""

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

        # The admin has discovered every app's admin by now (it comes first in
        # INSTALLED_APPS): no registered model may be filtered by a secret.
        if self.apps.is_installed("django.contrib.admin"):
            from django.contrib import admin

            from capomastro_changes.admin.secret_lookups import guard_every_admin

            guard_every_admin()
            if admin.site.index_template is None:  # a host's own index page is kept
                admin.site.index_template = "admin/capomastro_changes/overview_index.html"
