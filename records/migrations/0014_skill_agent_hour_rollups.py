"""0014 rebuilt every rollup level from the records: skill and agent rollups gained hour rows
(records.stats.aggregates reads a window's edge hours from them, not half a day of links), and
the changes of 0008 and 0011 (new columns, the project key, TypeRollup) were filled in.

It used the live rebuild (records.stats.rollups), so it had to stay the last migration that
changes rollup rows; 0017 changed them, so 0018 has the step now (0011 had it before this).
Run here, the live code would write a column that does not exist yet; 0018's rebuild makes
these changes too.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0013_advice_advised_turns"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
    ]
