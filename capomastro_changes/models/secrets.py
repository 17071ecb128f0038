"""Which columns hold a secret, or may contain one: the list every guard reads.

A secret column is never shown, and nobody may filter, search or order by it,
because an answer that depends on its value leaks it a character at a time
(``?api_token__startswith=a``, then ``ab``…). A column that only *may* hold a
credential (a URL with a password or a token as user name, build parameters a
user typed) counts too. Models of other apps are named by label, so Django's
own user table is covered the same way.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models

SECRET_FIELDS: dict[str, frozenset[str]] = {
    "capomastro_changes.jenkinsserver": frozenset({"api_token", "notification_secret", "url"}),
    "capomastro_changes.source": frozenset({"url"}),
    "capomastro_changes.dependency": frozenset({"parameters"}),
    "capomastro_changes.build": frozenset({"parameters", "url"}),
    "capomastro_changes.artifact": frozenset({"url"}),
    "capomastro_changes.rebuildrequest": frozenset({"lock_token"}),
    "auth.user": frozenset({"password"}),
}


def secret_fields(model: type[models.Model]) -> frozenset[str]:
    """The names of ``model``'s columns that hold or may contain a secret."""
    return SECRET_FIELDS.get(model._meta.label_lower, frozenset())


def touches_secret(model: type[models.Model], path: str) -> bool:
    """Whether a lookup path (``job__server__api_token__startswith``) reads a secret column.

    Relations are followed to the model they reach; the first part that is
    not a field ends the walk (the rest are lookups and transforms).
    """
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:  # "pk", a lookup, a transform: the walk ends
            return False
        names = {field.name, getattr(field, "attname", field.name)}
        if names & secret_fields(model):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False
