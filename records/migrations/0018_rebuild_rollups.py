from django.db import migrations


def rebuild(apps, schema_editor):
    """Every rollup level recomputed from the records, now that TypeRollup's key has
    ``advised`` (0017: the rows so far counted every record as not advised), then, on
    PostgreSQL, the rollup tables vacuumed (records.stats.rollups.vacuum_rollups: the replaced
    rows would slow every read until autovacuum got to them).

    Uses the live rebuild (records.stats.rollups), so this must stay the last migration that
    changes rollup rows; a later change to them moves this step after it (0014 had it until
    0017). Not atomic, so that VACUUM may run; the rebuild is one transaction of its own, and a
    failed run leaves this migration unapplied, to run again. At a million records it takes a
    few minutes.
    """
    from records.stats.rollups import rebuild_rollups

    if apps.get_model("records", "TaskRecord").objects.exists():
        rebuild_rollups()


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("records", "0017_type_rollup_advised"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
