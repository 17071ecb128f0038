"""A standalone Django site for running capomastro-changes alone: settings, URLs, Celery app.

The Celery app is imported here, as Django projects do, so that every process
that loads these settings (web server, demo, worker) sends tasks through it.
"""

from capomastro_changes.site.celery import app as celery_app

__all__ = ["celery_app"]
