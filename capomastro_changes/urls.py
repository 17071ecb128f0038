"""The app's endpoints, included by a host site under a prefix of its choice."""

from django.urls import path

from capomastro_changes.views import endpoints as views

app_name = "capomastro_changes"
urlpatterns = [
    path(
        "jenkins/<int:server_id>/notifications/",
        views.jenkins_notification,
        name="jenkins-notification",
    ),
    path("push/", views.push_notification, name="push"),
    path("status/sources/<int:source_id>/", views.source_status, name="source-status"),
    path("status/projects/<int:project_id>/", views.project_status, name="project-status"),
    path("metrics/", views.prometheus_metrics, name="metrics"),
]
