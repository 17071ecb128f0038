"""No admin answers a question about a secret: no filter, search, ordering or pick by one.

Django's admin lets any user who may *view* a list filter it by the model's
own columns from the query string. On a secret column that is an oracle:
``?api_token__startswith=a`` answers "some rows" or "none", and a token
falls a character at a time. Every registered admin (ours, Django's users,
django-celery-beat's) is wrapped once the admin has been discovered, so the
rule holds for any model, any user and any permission, superuser included:

- a query-string parameter whose lookup path reaches a secret column
  (``url__contains``, ``job__server__api_token__startswith``) is refused
  with 403 before anything is read;
- ``?o=`` naming a column that orders by a secret column, and ``_to_field``
  naming a secret column, are refused the same way;
- search never reaches a secret column: such search fields are dropped, so
  ``?q=`` and the autocomplete endpoint match on the other fields only; a
  search for a URL typed with its password is redirected at once to the same
  search with the password masked, so no page or link repeats it.

A refusal is one warning line in the log (who, which list, which parameter;
never the value), not a traceback. While the query string is read, a number
for a whole-number column beyond what the database holds (``?job=2**80``,
which SQLite answers with an OverflowError) is refused with 400 as well.

The columns are listed in :mod:`capomastro_changes.models.secrets`.
"""

from __future__ import annotations

import logging

from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR, SEARCH_VAR, TO_FIELD_VAR
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import F
from django.http import HttpResponseBadRequest, HttpResponseForbidden, HttpResponseRedirect

from bygmester_hooks import bounds
from capomastro_changes.models.secrets import secret_fields, touches_secret
from capomastro_changes.redaction import redact_parameters, redact_text, redact_url

log = logging.getLogger(__name__)
REFUSED = "Refused: that would filter, order or pick by a secret field."
OUT_OF_RANGE = "Refused: a number beyond what the database holds."


class SecretLookupGuard:
    """Mixed in front of a ModelAdmin: refuses every query that depends on a secret column."""

    def changelist_view(self, request, extra_context=None):
        try:
            refuse_secret_queries(self, request)
        except PermissionDenied:
            return HttpResponseForbidden(REFUSED)
        masked = search_without_credentials(request)
        if masked:  # the page, its links and the history keep no typed password
            return HttpResponseRedirect(masked)
        bad = out_of_range(self.model, request)
        if bad:
            log.warning("admin list of %s: refused %s=<number out of range> from %s",
                        self.model._meta.label, bad, request.user)  # fmt: skip
            return HttpResponseBadRequest(OUT_OF_RANGE)
        return super().changelist_view(request, extra_context)

    def lookup_allowed(self, lookup, value, request=None):
        if touches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return [f for f in fields if not touches_secret(self.model, f.lstrip("^=@"))]

    def get_sortable_by(self, request):
        columns = super().get_sortable_by(request)
        return [c for c in columns if not _orders_by_secret(self, c)]

    def get_fieldsets(self, request, obj=None):
        """Whoever may not change ``obj`` sees its secret fields masked, never their values.

        Django shows every field read-only to such a user, through none of the
        forms that hide secrets: each secret field is shown by a ``masked_*``
        display instead (URLs redacted, parameters with secret-named values
        masked, anything else "set" or "not set").
        """
        fieldsets = super().get_fieldsets(request, obj)
        secret = secret_fields(self.model)
        if obj is None or not secret or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [_masked_name(f, secret) for f in options["fields"]]})
            for name, options in fieldsets
        ]

    def __getattr__(self, name: str):
        if name.startswith(MASKED):
            field = self.model._meta.get_field(name[len(MASKED) :])

            def shown(obj):
                return masked_value(field.name, getattr(obj, field.attname))

            shown.short_description = field.verbose_name
            return shown
        raise AttributeError(name)


MASKED = "masked_"


def _masked_name(field, secret: frozenset[str]):
    if isinstance(field, list | tuple):
        return type(field)(_masked_name(f, secret) for f in field)
    return f"{MASKED}{field}" if field in secret else field


def masked_value(name: str, value) -> str:
    """A secret field's value fit to show to someone who may not change it."""
    if value in (None, "", {}, []):
        return "—"
    if "url" in name:
        return redact_url(str(value))
    if "parameters" in name:
        return redact_parameters(value)
    return "set"


def search_without_credentials(request) -> str:
    """The list's URL with a typed URL's credentials masked in ``?q=`` ("" when none).

    The search box and every link of the list repeat ``q``; a URL pasted with
    its password would be shown back and kept in the browser's history. The
    masked term finds the same rows: sources are searched by a key that drops
    credentials anyway.
    """
    term = request.GET.get(SEARCH_VAR, "")
    shown = redact_text(term)
    if shown == term:
        return ""
    query = request.GET.copy()
    query[SEARCH_VAR] = shown
    return f"{request.path}?{query.urlencode()}"


def refuse_secret_queries(model_admin, request) -> None:
    """Raise PermissionDenied when the changelist query would depend on a secret column."""
    for name, values in request.GET.lists():
        if name == ORDER_VAR:
            secret = any(_order_param_is_secret(model_admin, request, v) for v in values)
        elif name == TO_FIELD_VAR:
            secret = any(touches_secret(model_admin.model, v) for v in values)
        else:
            secret = touches_secret(model_admin.model, name)
        if secret:
            log.warning("admin list of %s: refused %s, a query by a secret field, from %s",
                        model_admin.model._meta.label, name, request.user)  # fmt: skip
            raise PermissionDenied(REFUSED)


DATE_PARTS = ("year", "iso_year", "month", "day", "week", "week_day", "iso_week_day",
              "quarter", "hour", "minute", "second")  # fmt: skip


def out_of_range(model, request) -> str:
    """The first query parameter that gives a whole-number column a number it cannot hold.

    Read as Django will read it (``int()`` takes "+9", "9_0" and other scripts'
    digits), so nothing Django would pass on to the database is missed.
    """
    for name, values in request.GET.lists():
        field = _last_field(model, name)
        is_number = isinstance(field, models.IntegerField | models.ForeignKey | models.AutoField)
        if (
            not is_number
            and name.rsplit("__", 2)[-1] not in DATE_PARTS
            and not any(f"__{part}__" in f"{name}__" for part in DATE_PARTS)
        ):
            continue
        for value in values:
            for part in value.split(","):  # __in takes a list
                try:
                    number = int(part.strip())
                except ValueError:
                    continue
                if abs(number) > bounds.BIGINT_MAX:
                    return name
    return ""


def _last_field(model, path: str):
    """The field a lookup path ends on (following relations), or None."""
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if not field.is_relation or field.related_model is None:
            break
        model = field.related_model
    return field


def _order_param_is_secret(model_admin, request, value: str) -> bool:
    columns = list(model_admin.get_list_display(request))
    for part in value.split("."):
        index = part.rpartition("-")[2]
        if index.isdecimal() and int(index) < len(columns):
            if _orders_by_secret(model_admin, columns[int(index)]):
                return True
    return False


def _orders_by_secret(model_admin, column) -> bool:
    """Whether list column ``column`` sorts by a secret column."""
    model = model_admin.model
    if isinstance(column, str):
        try:
            return touches_secret(model, model._meta.get_field(column).name)
        except FieldDoesNotExist:
            pass
        attr = getattr(model_admin, column, None) or getattr(model, column, None)
    else:
        attr = column
    if isinstance(attr, property):
        attr = attr.fget
    ordering = getattr(attr, "admin_order_field", None)
    if isinstance(ordering, F):
        ordering = ordering.name
    if hasattr(ordering, "expression") and isinstance(ordering.expression, F):
        ordering = ordering.expression.name  # an OrderBy(F(...))
    return isinstance(ordering, str) and touches_secret(model, ordering.lstrip("-"))


def guard_every_admin(site: admin.AdminSite = admin.site) -> None:
    """Put :class:`SecretLookupGuard` in front of every ModelAdmin registered on ``site``.

    Called once the admin is discovered (the app's ``ready``); a model
    registered later is guarded when this runs again. Running it twice
    wraps nothing twice.
    """
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, SecretLookupGuard):
            continue
        cls = type(model_admin)
        guarded = type(
            f"Guarded{cls.__name__}", (SecretLookupGuard, cls), {"__module__": cls.__module__}
        )
        site.unregister(model)
        site.register(model, guarded)
