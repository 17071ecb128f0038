"""A second due index, in the order the sweep reads: priority first, then next check.

With ``next_check_at`` alone, a backlog (every source due after an outage) made
the database fetch and sort every due row by priority (20-30 ms on PostgreSQL,
80-100 ms on SQLite, at 100,000 sources); in this order the first chunk is read
straight off the index. The first index stays for the usual tick, when few
sources are due; the planner picks between them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('capomastro_changes', '0002_schedules'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='sourcestate',
            index=models.Index(condition=models.Q(('enabled', True)), fields=['-priority', 'next_check_at'], name='sourcestate_due_by_priority'),
        ),
    ]
