"""TypeRollup keys by ``advised``; 0018 then rebuilds the rollups, which fills it in."""

from django.db import migrations, models


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
    ]
