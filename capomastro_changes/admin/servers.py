"""Jenkins servers, job types and jobs. Tokens and secrets are write-only: "set" or "not set"."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from capomastro_changes.admin import badges
from capomastro_changes.admin.sources import RedactedURLForm
from capomastro_changes.models import JenkinsServer, Job, JobType
from capomastro_changes.source_identity import redact_url


class JenkinsServerForm(RedactedURLForm):
    """Token and secret inputs never render their current value; blank keeps it."""

    api_token = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Blank: keep."
    )
    notification_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Blank: keep."
    )

    class Meta:
        model = JenkinsServer
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for name in ("api_token", "notification_secret"):
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(JenkinsServer)
class JenkinsServerAdmin(admin.ModelAdmin):
    form = JenkinsServerForm
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
