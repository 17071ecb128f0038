"""Build.queue_id and Build.unexpected: a notification settles only the build Jenkins gave.

A notification is a claim (its secret is in every job's config.xml): it moves a
request only when its build is the one linked to the request, or comes from
the queue item Jenkins named when it took the request. A build that claims a
request otherwise is kept, marked unexpected, and moves nothing.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("capomastro_changes", "0006_build_duration")]

    operations = [
        migrations.AddField(
            model_name="build",
            name="queue_id",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, help_text="The Jenkins queue item it came from."
            ),
        ),
        migrations.AddField(
            model_name="build",
            name="unexpected",
            field=models.BooleanField(
                default=False,
                help_text="It claimed a rebuild request Jenkins never gave it; it moved nothing.",
            ),
        ),
    ]
