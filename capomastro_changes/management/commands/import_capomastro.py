"""``manage.py import_capomastro``: the ``import-capomastro`` command, for a host deployment."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from capomastro_changes.adoption.errors import AdoptionError
from capomastro_changes.cli import adopt


class Command(BaseCommand):
    help = "Adopt an existing capomastro's servers, jobs, dependencies and projects."

    def add_arguments(self, parser) -> None:
        adopt.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        namespace = type("Args", (), {k.replace("-", "_"): v for k, v in options.items()})
        try:
            capomastro, chosen = adopt.load(namespace)
        except (AdoptionError, ValueError) as exc:
            raise CommandError(str(exc), returncode=adopt.EXIT_UNREADABLE) from None
        status = adopt.run_import(
            capomastro, chosen, options["dry_run"], options["json"], out=self.stdout._out
        )
        if status:
            raise CommandError("nothing imported", returncode=status)
