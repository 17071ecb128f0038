"""English date formats: Django's own, each with the time zone after it ("UTC").

Every date the admin shows (lists, change forms, django-celery-beat's pages,
this app's panels) goes through ``DATETIME_FORMAT``, so one format with the
zone is written everywhere.
"""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
