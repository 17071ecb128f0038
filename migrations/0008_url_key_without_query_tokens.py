"""Source.url_key: a token in the URL's query (``?private_token=…``) no longer part of it.

The key is what the admin searches; a token in it could be found by guessing.
A key that would now equal another source's is left as it was (the two
sources are the same repository; merging them is the operator's call).
"""

from django.db import IntegrityError, migrations, transaction


def rekey(apps, schema_editor):
    from capomastro_changes.vcs.identity import url_key

    Source = apps.get_model("capomastro_changes", "Source")
    for source in Source.objects.filter(url_key__contains="=").only("url", "url_key"):
        key = url_key(source.url)
        if key != source.url_key:
            try:
                with transaction.atomic():
                    Source.objects.filter(pk=source.pk).update(url_key=key)
            except IntegrityError:
                pass


class Migration(migrations.Migration):
    dependencies = [("capomastro_changes", "0007_build_queue_id_and_unexpected")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop, elidable=True)]
