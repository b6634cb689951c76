from django.db import migrations, models


def rebuild(apps, schema_editor):
    """Every rollup level recomputed from the records, now that TypeRollup's key has
    ``advised`` (the rows so far counted every record as not advised).

    Uses the live rebuild (records.stats.rollups), so this must stay the last migration that
    changes rollup rows; a later change to them moves this step after it (0014 had it until
    this one). At a million records it takes a few minutes.
    """
    from records.stats.rollups import rebuild_rollups

    if apps.get_model("records", "TaskRecord").objects.exists():
        rebuild_rollups()


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0016_rollup_name_time_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="typerollup",
            name="type_rollup_key",
        ),
        migrations.AddField(
            model_name="typerollup",
            name="advised",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="typerollup",
            constraint=models.UniqueConstraint(
                fields=("span", "start", "task_type", "auto_generated", "project", "advised"),
                name="type_rollup_key",
            ),
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
