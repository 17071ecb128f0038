"""The app's endpoints, included by a host site under a prefix of its choice."""

from django.urls import path, register_converter

from bygmester_hooks import bounds
from capomastro_changes.views import endpoints as views
from capomastro_changes.views import ephemera


class RowId:
    """A row id in a URL: ASCII digits a primary key can hold, else no match (404).

    Django's ``int`` converter takes any length, and a number beyond the
    database's range answered 500 instead of "not found".
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = bounds.whole_number(value, bounds.BIGINT_MAX)
        if number is None:
            raise ValueError(f"{value} is not a row id")
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(RowId, "row_id")

app_name = "capomastro_changes"
urlpatterns = [
    path(
        "jenkins/<row_id:server_id>/notifications/",
        views.jenkins_notification,
        name="jenkins-notification",
    ),
    path("push/", views.push_notification, name="push"),
    path("status/sources/<row_id:source_id>/", views.source_status, name="source-status"),
    path("status/projects/<row_id:project_id>/", views.project_status, name="project-status"),
    path("metrics/", views.prometheus_metrics, name="metrics"),
    path("ephemera/", ephemera.ephemera_root, name="ephemera-root"),
    path("ephemera/sets/<str:name>/", ephemera.ephemera_set, name="ephemera-set"),
    path(
        "ephemera/archives/<row_id:archive_id>/",
        ephemera.ephemera_archive,
        name="ephemera-archive",
    ),
    path(
        "ephemera/archives/<row_id:archive_id>/restored/",
        ephemera.ephemera_restored,
        name="ephemera-restored",
    ),
]
