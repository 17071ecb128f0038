"""Jenkins servers, job types and jobs. Tokens and secrets are write-only: "set" or "not set".

The edit page says whether each is set, never what it is, and can clear it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from capomastro_changes.admin import badges
from capomastro_changes.admin.lists import ListsFit
from capomastro_changes.admin.sources import RedactedURLForm
from capomastro_changes.models import JenkinsServer, Job, JobType
from capomastro_changes.redaction import redact_url
from capomastro_changes.vcs.identity import origin

SECRETS = {"api_token": "API token", "notification_secret": "notification secret"}
MOVED_HELP = (
    "A password in the URL shows as ***; leave it to keep it. Changing the scheme, host or port "
    "clears the stored API token and notification secret unless you type them again below."
)


class JenkinsServerForm(RedactedURLForm):
    """Token and secret inputs never render their value; the help text says whether one is set.

    A blank input keeps the stored value; the "clear" box beside each one
    empties it (a server that should no longer accept notifications, a token
    revoked in Jenkins). Typing a new value and ticking "clear" is refused:
    the operator's intent is not clear.

    A credential belongs to the address it was given for: when the URL's
    scheme, host or port changes, a secret not typed again in the same form
    is cleared, so whoever may edit a server cannot point it at their own
    host and receive the stored token (nor have the notification secret
    written into job configs there).
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
        self.cleared_for_new_host: list[str] = []
        if "url" in self.fields:
            self.fields["url"].help_text = MOVED_HELP
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
                kept = getattr(self.instance, name)
                if kept and self._moved(cleaned):
                    self.cleared_for_new_host.append(label)
                    kept = ""
                cleaned[name] = kept
        return cleaned

    def _moved(self, cleaned) -> bool:
        url = cleaned.get("url")
        return bool(url) and origin(url) != origin(self.instance.url)


@admin.register(JenkinsServer)
class JenkinsServerAdmin(ListsFit, admin.ModelAdmin):
    form = JenkinsServerForm
    fields = (
        "name", "url", "username", "api_token", "clear_api_token", "notification_secret",
        "clear_notification_secret", "max_builds_in_flight",
    )  # fmt: skip
    list_display = ("name", "location", "username", "token_state", "secret_state")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cleared = getattr(form, "cleared_for_new_host", [])
        if cleared:
            self.message_user(
                request,
                f"The server's address changed: its {' and '.join(cleared)} were cleared. "
                "Type them again for the new address.",
                messages.WARNING,
            )

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
class JobTypeAdmin(ListsFit, admin.ModelAdmin):
    list_display = ("name", "probe_runner", "probe_script")


@admin.register(Job)
class JobAdmin(ListsFit, admin.ModelAdmin):
    list_display = ("name", "server", "jobtype")
    list_select_related = ("server", "jobtype")
