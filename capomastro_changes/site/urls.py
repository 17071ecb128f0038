"""URLs of the standalone site: the admin and the app's own endpoints."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("changes/", include("capomastro_changes.urls")),
]
