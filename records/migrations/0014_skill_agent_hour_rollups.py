from django.db import migrations


def rebuild(apps, schema_editor):
    """Every rollup level recomputed from the records: skill and agent rollups gain hour rows
    (records.stats.aggregates reads a window's edge hours from them, not half a day of links),
    and the changes of 0008 and 0011 (new columns, the project key, TypeRollup) are filled in.

    Uses the live rebuild (records.stats.rollups), so this must stay the last migration that
    changes rollup rows; a later change to them moves this step after it (0011 had it until
    this one).
    """
    from records.stats.rollups import rebuild_rollups

    if apps.get_model("records", "TaskRecord").objects.exists():
        rebuild_rollups()


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0013_advice_advised_turns"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
