"""Jenkins servers, job types and jobs. Tokens and secrets are write-only: "set" or "not set".

The edit page says whether each is set, never what it is, and can clear it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from capomastro_changes.admin import badges
from capomastro_changes.admin.sources import RedactedURLForm
from capomastro_changes.models import JenkinsServer, Job, JobType
from capomastro_changes.redaction import redact_url

SECRETS = {"api_token": "API token", "notification_secret": "notification secret"}


class JenkinsServerForm(RedactedURLForm):
    """Token and secret inputs never render their value; the help text says whether one is set.

    A blank input keeps the stored value; the "clear" box beside each one
    empties it (a server that should no longer accept notifications, a token
    revoked in Jenkins). Typing a new value and ticking "clear" is refused:
    the operator's intent is not clear.
    """

    api_token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    clear_api_token = forms.BooleanField(required=False, label="Clear the API token")
    notification_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False)
    )
    clear_notification_secret = forms.BooleanField(
        required=False, label="Clear the notification secret"
    )

    class Meta:
        model = JenkinsServer
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in SECRETS.items():
            now = badges.secret_state(getattr(self.instance, name, ""))
            self.fields[
                name
            ].help_text = (
                f"Currently {now}. Type a new {label} to replace it; leave blank to keep it."
            )

    def clean(self):
        cleaned = super().clean()
        for name, label in SECRETS.items():
            if cleaned.get(f"clear_{name}"):
                if cleaned.get(name):
                    self.add_error(name, f"Type a new {label} or clear it, not both.")
                cleaned[name] = ""
            elif not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(JenkinsServer)
class JenkinsServerAdmin(admin.ModelAdmin):
    form = JenkinsServerForm
    fields = (
        "name", "url", "username", "api_token", "clear_api_token", "notification_secret",
        "clear_notification_secret", "max_builds_in_flight",
    )  # fmt: skip
    list_display = ("name", "location", "username", "token_state", "secret_state")

    @admin.display(description="URL")
    def location(self, obj):
        return redact_url(obj.url)

    @admin.display(description="API token")
    def token_state(self, obj):
        return badges.secret_state(obj.api_token)

    @admin.display(description="notification secret")
    def secret_state(self, obj):
        return badges.secret_state(obj.notification_secret)


@admin.register(JobType)
class JobTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "probe_runner", "probe_script")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("name", "server", "jobtype")
    list_select_related = ("server", "jobtype")
