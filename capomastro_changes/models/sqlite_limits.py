"""SQLite connections tell Django how many query parameters they really take.

Django 5.2 assumes SQLite's historical limit of 999 parameters and splits every
bulk insert to fit, so a change tracked by 500 projects (2,500 project-build
links of four fields) costs eleven INSERTs where one would do. SQLite 3.32
raised the default to 32,766 and Debian builds it with 250,000; Python 3.11
exposes the connection's own limit. Django 6.0 reads it the same way (Django
ticket #36143); until then this reads it for each new SQLite connection.
"""

from __future__ import annotations

import sqlite3

from django.db.backends.signals import connection_created
from django.dispatch import receiver


@receiver(connection_created)
def use_the_real_parameter_limit(sender, connection, **kwargs) -> None:
    """Raise the connection's ``max_query_params`` to what its SQLite library allows."""
    if connection.vendor != "sqlite":
        return
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if limit > connection.features.max_query_params:
        connection.features.max_query_params = limit
