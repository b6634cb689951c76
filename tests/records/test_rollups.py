"""Rollups kept in the same transaction as every write equal rollups rebuilt from records."""

import importlib
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from records.models import AgentRollup, Rollup, SkillRollup, TaskRecord, TypeRollup
from records.recorder import record_task_performance

pytestmark = pytest.mark.django_db

TABLES = (TypeRollup, Rollup, SkillRollup, AgentRollup)


def snapshot():
    return {
        table.__name__: sorted(tuple(row.values()) for row in table.objects.values().order_by())
        for table in TABLES
    }


def without_ids(snap):
    # The primary key differs after a rebuild; everything else must match.
    return {name: sorted(row[1:] for row in rows) for name, rows in snap.items()}


@contextmanager
def at_migration(name: str):
    """The records app migrated back to ``name``: yields that state's apps (to store records as
    they were) and a function that migrates to the latest; migrated to the latest in any case."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("records")
    executor.migrate([("records", name)])
    try:
        yield (
            executor.loader.project_state([("records", name)]).apps,
            lambda: MigrationExecutor(connection).migrate(latest),
        )
    finally:
        MigrationExecutor(connection).migrate(latest)


def rebuild():
    call_command("rebuild_rollups", stdout=StringIO())


def test_recorder_writes_keep_rollups_exact():
    base = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    for i in range(12):
        record_task_performance(
            {
                "task_type": ["coding", "debugging", "testing"][i % 3],
                "description": "task",
                "duration": 100 + 97.3 * i,
                "success": i % 4 != 0,
                "skills_used": ["code-analysis", "pattern-learning"][: i % 3],
                "agents_delegated": ["code-analyzer"] if i % 2 else [],
                "recorded_at": (base + timedelta(minutes=25 * i)).isoformat(),
                "auto_generated": i % 5 != 0,
                "advice": "Perfsite: the testing skill passed 9 of 10" if i % 3 == 0 else None,
            },
            ["GLM-4.6", "claude-sonnet-4-5"][i % 2],
        )
    incremental = snapshot()
    advised = TypeRollup.objects.filter(span="h", advised=True)
    assert sum(row.count for row in advised) == 4  # i = 0, 3, 6, 9
    hourly = Rollup.objects.filter(span="h")
    assert sum(row.count for row in hourly) == 12
    assert sum(row.quality_tenths for row in hourly) == round(
        sum(r.quality_score * 10 for r in TaskRecord.objects.all())
    )
    assert SkillRollup.objects.exists() and AgentRollup.objects.exists()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_seed_demo_keeps_rollups_exact():
    call_command("seed_demo", "--records", "800", "--seed", "3", stdout=StringIO())
    incremental = snapshot()
    assert sum(r.count for r in Rollup.objects.filter(span="d")) == 800
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_deleting_records_in_the_admin_takes_them_out_of_the_rollups(admin_client):
    call_command("seed_demo", "--records", "200", "--seed", "5", stdout=StringIO())
    doomed = list(TaskRecord.objects.order_by("?").values_list("pk", flat=True)[:40])
    admin_client.post(
        reverse("admin:records_taskrecord_changelist"),
        {"action": "delete_selected", "_selected_action": doomed, "post": "yes"},
    )
    assert TaskRecord.objects.count() == 160
    incremental = snapshot()
    assert sum(row.count for row in Rollup.objects.filter(span="h")) == 160
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_legacy_import_and_merge_keep_rollups_exact(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "data" / "legacy"
    call_command("import_legacy", str(samples), stdout=StringIO(), stderr=StringIO())
    assert TaskRecord.objects.count() == 80
    incremental = snapshot()
    assert sum(row.count for row in Rollup.objects.filter(span="d")) == 80
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_month_rows_count_every_record_once():
    call_command("seed_demo", "--records", "600", "--seed", "9", stdout=StringIO())
    for table in TABLES:
        months = table.objects.filter(span="m")
        days = table.objects.filter(span="d")
        assert months.exists()
        assert sum(r.count for r in months) == sum(r.count for r in days)
        assert {r.start.day for r in months} == {1}
    assert sum(r.count for r in Rollup.objects.filter(span="m")) == 600


def test_migration_0004_builds_the_month_rows_of_stored_records():
    """Databases made before month rollups get them from their day rows, equal to a rebuild."""
    call_command("seed_demo", "--records", "600", "--seed", "4", stdout=StringIO())
    # 0004 predates the project key (0011): its month rows are those of records without one.
    TaskRecord.objects.update(project="")
    rebuild()
    expected = snapshot()
    for table in (Rollup, SkillRollup, AgentRollup):  # the tables 0004 knew
        table.objects.filter(span="m").delete()

    importlib.import_module("records.migrations.0004_rollup_months").add_month_rows(apps, None)

    assert without_ids(snapshot()) == without_ids(expected)


def test_the_rebuild_migration_adds_the_hour_rows_of_skills_and_agents():
    """Databases whose skill and agent rollups kept days and months only (before 0014) get
    their hour rows from the rebuild, which 0018 runs now."""
    call_command("seed_demo", "--records", "400", "--seed", "14", stdout=StringIO())
    expected = snapshot()
    for table in (SkillRollup, AgentRollup):
        hours = table.objects.filter(span="h")
        assert sum(r.count for r in hours) == sum(r.count for r in table.objects.filter(span="d"))
        hours.delete()

    importlib.import_module("records.migrations.0018_rebuild_rollups").rebuild(apps, None)

    assert without_ids(snapshot()) == without_ids(expected)


@pytest.mark.django_db(transaction=True)
def test_a_database_at_0007_with_records_migrates_to_exact_rollups():
    """0011 adds the project key and TypeRollup, and 0018 rebuilds the rollups of stored
    records with the live rebuild (0008, 0011 and 0014 used to), so a database at 0007 with records
    migrates through them and ends with rollups equal to a rebuild."""
    with at_migration("0007_task_context_tokens_cost") as (old, migrate_to_latest):
        model = old.get_model("records", "AIModel").objects.create(name="GLM 4.6")
        records = old.get_model("records", "TaskRecord")
        at = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
        for i in range(6):
            records.objects.create(
                record_id=f"old-{i}",
                recorded_at=at + timedelta(days=i * 11, minutes=7 * i),
                task_type=["coding", "testing"][i % 2],
                model=model,
                quality_score=80 + i,
                performance_index=70 + i,
                duration_seconds=100.0 * (i + 1),
                project=["", "alpha", "beta"][i % 3],
                cost_usd=0.25 * i,
                input_tokens=1000 * i,
                source="recorder",
            )
        migrate_to_latest()
        migrated = snapshot()
        assert sum(r.count for r in Rollup.objects.filter(span="m")) == 6
        assert set(Rollup.objects.values_list("project", flat=True)) == {"", "alpha", "beta"}
        assert sum(r.count for r in TypeRollup.objects.filter(span="h")) == 6
        rebuild()
        assert without_ids(migrated) == without_ids(snapshot())


@pytest.mark.django_db(transaction=True)
def test_a_database_at_0016_with_advised_records_migrates_to_advised_type_rollups():
    """0017 adds ``advised`` to TypeRollup's key and 0018 rebuilds: the advised records' rows split
    from the others', and the totals stay those of a rebuild."""
    with at_migration("0016_rollup_name_time_indexes") as (old, migrate_to_latest):
        model = old.get_model("records", "AIModel").objects.create(name="GLM 4.6")
        records = old.get_model("records", "TaskRecord")
        at = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
        for i in range(5):
            records.objects.create(
                record_id=f"advised-{i}",
                recorded_at=at + timedelta(minutes=i),
                task_type="coding",
                model=model,
                quality_score=60 + i,
                performance_index=60 + i,
                advice="Perfsite: use the testing skill" if i < 2 else "",
                source="recorder",
            )
        migrate_to_latest()
        hours = {r.advised: r.count for r in TypeRollup.objects.filter(span="h")}
        assert hours == {True: 2, False: 3}
        migrated = snapshot()
        rebuild()
        assert without_ids(migrated) == without_ids(snapshot())


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_vacuums_the_rollup_tables_on_postgresql():
    """A rebuild replaces every rollup row; on PostgreSQL the replaced ones would stay as dead
    tuples every read steps over until autovacuum came, so the rebuild vacuums the tables."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL keeps replaced rows until VACUUM; SQLite reuses the pages")
    call_command("seed_demo", "--records", "50", "--seed", "3", stdout=StringIO())
    started = datetime.now(UTC)
    rebuild()
    tables = [table._meta.db_table for table in TABLES]
    vacuumed = []
    for _ in range(50):  # the statistics view is updated a moment after the VACUUM
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
                "AND last_vacuum >= %s",
                [tables, started],
            )
            vacuumed = sorted(row[0] for row in cursor.fetchall())
        if vacuumed == sorted(tables):
            break
        time.sleep(0.1)
    assert vacuumed == sorted(tables)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's fillfactor")
def test_rollup_tables_keep_room_on_their_pages_for_updates():
    """Every write updates the rows of its hour, day and month; with room left on the page the
    new version stays there (a HOT update) instead of adding an entry to every index."""
    tables = [model._meta.db_table for model in TABLES]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)", [tables])
        found = dict(cursor.fetchall())
    assert found == {table: ["fillfactor=80"] for table in tables}
