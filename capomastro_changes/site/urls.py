"""URLs of the standalone site: the admin and the app's own endpoints."""

from django.contrib import admin
from django.urls import include, path

# The lists are wide (badges, locks, revisions): the standalone admin gives them the
# whole width instead of a sidebar repeating the index (a host keeps its own choice).
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("admin/", admin.site.urls),
    path("changes/", include("capomastro_changes.urls")),
]
