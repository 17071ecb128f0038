"""Build.duration: how long Jenkins says a build took, as capomastro recorded it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("capomastro_changes", "0005_rebuild_request_again_for")]

    operations = [
        migrations.AddField(
            model_name="build",
            name="duration",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, help_text="Milliseconds, as Jenkins reports it."
            ),
        ),
    ]
