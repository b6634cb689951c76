"""Full-text search over records: an FTS5 table kept by triggers on SQLite, a GIN index on a
tsvector expression on PostgreSQL (records.stats.search holds the SQL of both); and the
indexes the recent records' sorts walk."""

from django.db import migrations, models


def create(apps, schema_editor):
    from records.stats.search import create_index

    create_index(schema_editor.connection)


def drop(apps, schema_editor):
    from records.stats.search import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0009_otlp_pending_spans"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["quality_score", "id"], name="record_quality_sort_idx"),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(fields=["performance_index", "id"], name="record_perf_sort_idx"),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(
                fields=["time_efficiency", "id"], name="record_efficiency_sort_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="taskrecord",
            index=models.Index(
                fields=["duration_seconds", "id"], name="record_duration_sort_idx"
            ),
        ),
    ]
