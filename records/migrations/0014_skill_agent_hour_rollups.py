from django.db import migrations


def rebuild(apps, schema_editor):
    """Every rollup level recomputed from the records: skill and agent rollups gain hour rows
    (records.stats.aggregates reads a window's edge hours from them, not half a day of links),
    and the changes of 0008 and 0011 (new columns, the project key, TypeRollup) are filled in.

    Used the live rebuild (records.stats.rollups), so it had to stay the last migration that
    changes rollup rows; 0017 changed them, so 0018 has the step now (0011 had it before this).
    """
    # The rebuild moved to 0018 (TypeRollup's advised key): run here, the live code would
    # write a column that does not exist yet. 0018 rebuilds every level, these changes too.


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0013_advice_advised_turns"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
