"""gunicorn's settings for ``capomastro-changes run``: the site served as in production.

gunicorn (pre-fork, well kept, no C build) replaces Django's development server,
which says itself not to be used in production. Its access log writes each
request line, and the Jenkins Notification plugin can only authenticate with
``?secret=`` in the URL: every gunicorn log line goes through the site's
redacting filter. Static files are served by WhiteNoise inside the app.
"""

import os

from capomastro_changes.site.parent_watch import die_with_parent

die_with_parent()  # the master that ``run`` started ends with it (and stops its workers)

workers = int(os.environ.get("CAPOMASTRO_CHANGES_WEB_WORKERS", "2"))
# Threads: a long ephemera upload or download (gigabytes at network speed) never
# trips the worker timeout, which a sync worker applies to each whole request,
# and one slow client holds one thread, not a whole worker.
worker_class = "gthread"
threads = int(os.environ.get("CAPOMASTRO_CHANGES_WEB_THREADS", "8"))
timeout = 60
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "capomastro_changes.site.log_filters.RedactSecrets"}},
    "formatters": {"plain": {"format": "[%(asctime)s] %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
