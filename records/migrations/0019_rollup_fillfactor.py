"""PostgreSQL: the rollup tables keep a fifth of every page free, so that updating a rollup row
can keep its new version on the same page (a HOT update, which writes no index entry).

Every write adds to the rows of its hour, day and month (``apply_rollups``: INSERT … ON CONFLICT
DO UPDATE). Filled pages left no room for the new version: about three in four updates moved
the row to another page and wrote an entry into each of the table's three indexes. At 80 %
nearly every update is HOT (docs/benchmarks.md, "Lists of 1,000 tasks into a million
records"). Only pages written from now on keep the room; ``rebuild_rollups`` rewrites them
all. SQLite has no such setting.
"""

from django.db import migrations

TABLES = ("records_typerollup", "records_rollup", "records_skillrollup", "records_agentrollup")
FILLFACTOR = 80


def keep_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {FILLFACTOR})"
        )


def fill_up(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0018_rebuild_rollups"),
    ]

    operations = [
        migrations.RunPython(keep_room, fill_up),
    ]
