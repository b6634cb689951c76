"""Full-text search over records: an FTS5 table kept by triggers on SQLite, a GIN index on a
tsvector expression on PostgreSQL (records.stats.search holds the SQL of both)."""

from django.db import migrations


def create(apps, schema_editor):
    from records.stats.search import create_index

    create_index(schema_editor.connection)


def drop(apps, schema_editor):
    from records.stats.search import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0008_rollup_cost_tokens_squares"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
