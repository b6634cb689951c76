"""PostgreSQL: the search index also holds each record's UTC day (records.stats.search,
``PG_DAY_WORD``), so a search over a few weeks reads only those weeks' matches. Rebuilds the GIN
index (about 20 s at a million records); nothing on SQLite, whose FTS5 index is unchanged."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from records.stats.search import PG_INDEX, create_index

    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    create_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0020_searched_tables"),
    ]

    # Backwards: the index stays; the earlier code's queries no longer use it (slower, same
    # results) until the index is built again by a later migrate forwards.
    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=False)]
