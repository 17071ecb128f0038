"""The standalone site's Celery app: Django settings, tasks of the app, the Redis broker.

With no broker configured the embedded Redis is used, the same one the locks use.
With no time limit configured, a task without its own is stopped after 15 minutes.
"""

from __future__ import annotations

import os

from celery import Celery

from capomastro_changes.site.parent_watch import die_with_parent

die_with_parent()  # a worker or beat that ``run`` started ends with it
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capomastro_changes.site.settings")

app = Celery("capomastro_changes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["capomastro_changes"])
# Our tasks carry their own limits (capomastro_changes.tasks); anything else run
# here (Celery's own clean-up) still cannot hold a worker for ever.
DEFAULT_SOFT_TIME_LIMIT, DEFAULT_TIME_LIMIT = 870, 900


@app.on_after_configure.connect
def _fill_in_defaults(sender, **kwargs) -> None:
    if sender.conf.task_time_limit is None:
        sender.conf.task_time_limit = DEFAULT_TIME_LIMIT
    if sender.conf.task_soft_time_limit is None:
        sender.conf.task_soft_time_limit = DEFAULT_SOFT_TIME_LIMIT
    if not sender.conf.broker_url:
        from capomastro_changes.coordination.connection import broker_url

        sender.conf.broker_url = broker_url()
