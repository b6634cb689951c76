"""Drop three single-column indexes that another index already leads with.

``records_taskrecord.model_id`` is served by record_model_time_idx (model_id, recorded_at), and
each link table's ``record_id`` by its unique (record_id, skill_id | agent_id) constraint, so
these only cost every recorded task three more index entries (a list of 1,000 tasks: about
5,000; bench/bench_recording.py). The fields say ``db_index=False``; the database side is plain
``DROP INDEX IF EXISTS``, because an AlterField would make SQLite rebuild the records table
(and drop its FTS triggers) and PostgreSQL re-validate each foreign key. SQLite databases made
by the earlier migrations never had these indexes, so there it changes nothing.
"""

from django.db import migrations, models
from django.db.models.deletion import CASCADE, PROTECT

# (index, table, column): the names Django gave them on PostgreSQL.
INDEXES = [
    ("records_taskrecord_model_id_0885257a", "records_taskrecord", "model_id"),
    ("records_recordskill_record_id_8dffa245", "records_recordskill", "record_id"),
    ("records_recordagent_record_id_739df7c3", "records_recordagent", "record_id"),
]


def _unindexed(model_name, name, to, on_delete, related_name=None):
    """The state's AlterField: the foreign key without an index of its own."""
    extra = {"related_name": related_name} if related_name else {}
    return migrations.AlterField(
        model_name=model_name,
        name=name,
        field=models.ForeignKey(db_index=False, on_delete=on_delete, to=to, **extra),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0014_skill_agent_hour_rollups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                )
                for index, table, column in INDEXES
            ],
            state_operations=[
                _unindexed("recordagent", "record", "records.taskrecord", CASCADE),
                _unindexed("recordskill", "record", "records.taskrecord", CASCADE),
                _unindexed("taskrecord", "model", "records.aimodel", PROTECT, "records"),
            ],
        ),
    ]
