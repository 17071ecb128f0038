"""The sweep, reaper and full-rebuild schedules, as django-celery-beat rows the admin edits."""

from django.db import migrations

SCHEDULES = [
    # name, task, every (minutes) or crontab, enabled, expire_seconds
    ("capomastro-changes: check sweep", "capomastro_changes.sweep", 1, True, 50),
    ("capomastro-changes: reaper", "capomastro_changes.reap", 5, True, 240),
]


def create(apps, schema_editor):
    Interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes, enabled, expires in SCHEDULES:
        every, _ = Interval.objects.get_or_create(every=minutes, period="minutes")
        Task.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": every,
                "enabled": enabled,
                "expire_seconds": expires,
            },
        )
    weekly, _ = Crontab.objects.get_or_create(
        minute="0", hour="3", day_of_week="0", day_of_month="*", month_of_year="*"
    )
    Task.objects.get_or_create(
        name="capomastro-changes: full rebuild",
        defaults={
            "task": "capomastro_changes.full_rebuild",
            "crontab": weekly,
            "enabled": False,
            "description": "Rebuild every dependency regardless of change (off by default).",
        },
    )


def remove(apps, schema_editor):
    Task = apps.get_model("django_celery_beat", "PeriodicTask")
    Task.objects.filter(name__startswith="capomastro-changes: ").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("capomastro_changes", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
