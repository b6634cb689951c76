"""The rollup levels index their names with the time: (model|skill|agent, span, start).

The foreign keys' own single-column indexes let SQLite (which keeps no statistics) read one
model's or skill's window through every row that name ever had; the composite indexes find the
window's rows and serve the foreign keys' lookups as well. The old indexes go by ``DROP INDEX IF
EXISTS`` (the fields say ``db_index=False``): an AlterField would rebuild each table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

# The foreign keys' indexes, as Django named them (the same on SQLite and PostgreSQL).
OLD = [
    ("records_rollup_model_id_b492b043", "records_rollup", "model_id"),
    ("records_skillrollup_model_id_1f0befe0", "records_skillrollup", "model_id"),
    ("records_skillrollup_skill_id_73207941", "records_skillrollup", "skill_id"),
    ("records_agentrollup_model_id_5e199515", "records_agentrollup", "model_id"),
    ("records_agentrollup_agent_id_55f52b12", "records_agentrollup", "agent_id"),
]


def _unindexed(model_name, name, to):
    return migrations.AlterField(
        model_name=model_name,
        name=name,
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="+",
            to=to,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0015_drop_indexes_led_by_others"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="rollup",
            index=models.Index(fields=["model", "span", "start"], name="rollup_model_time_idx"),
        ),
        migrations.AddIndex(
            model_name="skillrollup",
            index=models.Index(
                fields=["model", "span", "start"], name="skill_rollup_model_time_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="skillrollup",
            index=models.Index(
                fields=["skill", "span", "start"], name="skill_rollup_skill_time_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="agentrollup",
            index=models.Index(
                fields=["model", "span", "start"], name="agent_rollup_model_time_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="agentrollup",
            index=models.Index(
                fields=["agent", "span", "start"], name="agent_rollup_agent_time_idx"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
                )
                for index, table, column in OLD
            ],
            state_operations=[
                _unindexed("rollup", "model", "records.aimodel"),
                _unindexed("skillrollup", "model", "records.aimodel"),
                _unindexed("skillrollup", "skill", "records.skill"),
                _unindexed("agentrollup", "model", "records.aimodel"),
                _unindexed("agentrollup", "agent", "records.agent"),
            ],
        ),
    ]
