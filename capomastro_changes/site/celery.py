"""The standalone site's Celery app: Django settings, tasks of the app, the Redis broker.

With no broker configured the embedded Redis is used, the same one the locks use.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capomastro_changes.site.settings")

app = Celery("capomastro_changes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["capomastro_changes"])


@app.on_after_configure.connect
def _use_embedded_redis_when_unset(sender, **kwargs) -> None:
    if not sender.conf.broker_url:
        from capomastro_changes.redis_connection import broker_url

        sender.conf.broker_url = broker_url()
