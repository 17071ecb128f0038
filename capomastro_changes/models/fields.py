"""Model fields with the app's defaults."""

from django.db import models


class URLField(models.URLField):
    """A URL field whose form assumes https for a bare host (Django 6's default, said now)."""

    def formfield(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)
