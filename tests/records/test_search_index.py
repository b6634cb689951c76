"""The search index stays in step with every door that writes records, on both databases."""

from __future__ import annotations

from datetime import UTC
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from records.models import TaskRecord
from records.recorder import record_task_performance
from records.recording.schema import clean_task
from records.recording.services import record_update, records_delete
from records.rules.periods import period_window
from records.stats.filters import RecordFilters, newest_first
from records.stats.search import (
    FTS_TABLE,
    PG_DAY_EPOCH,
    PG_INDEX,
    day_words,
    repair_sqlite_index,
    row_matches,
    search_words,
)
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "legacy"


def found(text: str) -> set[str]:
    """The record ids a search for ``text`` finds."""
    records = TaskRecord.objects.filter(RecordFilters(search=text).q())
    return set(records.values_list("record_id", flat=True))


def assert_index_in_step() -> None:
    """Every stored record is found by its description's words and its id, and (SQLite) the
    FTS index equals one rebuilt from the records table."""
    for record_id, description in TaskRecord.objects.values_list("record_id", "description"):
        assert record_id in found(record_id)
        if search_words(description):
            assert record_id in found(description)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # raises on any difference from the content table
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
            )


def record(description: str, **extra) -> str:
    task = {"task_type": "debugging", "description": description, "success": True, **extra}
    return record_task_performance(task, "GLM 4.6")


def test_record_create_is_searchable_at_once():
    record_id = record("Fix the zanzibar parser crash")

    assert found("zanzibar") == {record_id}
    assert found("ZANZ pars") == {record_id}  # prefixes, any case
    assert found("zanzibar nothing-like-it") == set()  # every word must match
    assert_index_in_step()


def test_record_update_replaces_the_old_words():
    record_id = record("Tune the quokka cache")
    stored = TaskRecord.objects.get(record_id=record_id)
    task = clean_task({"task_type": "optimization", "description": "Tune the wombat cache"})

    record_update(record=stored, task=task, source="admin", payload={})

    assert found("quokka") == set()
    assert found("wombat") == {record_id}
    assert_index_in_step()


def test_records_delete_leaves_nothing_to_find():
    keep, gone = record("Keep the narwhal"), record("Drop the narwhal")

    records_delete(TaskRecord.objects.filter(record_id=gone))

    assert found("narwhal") == {keep}
    assert_index_in_step()


def test_the_importer_batch_writer_indexes_what_it_writes():
    call_command("import_legacy", str(SAMPLES / "recorder-v3.7"), stdout=StringIO())

    assert TaskRecord.objects.count() == 21
    assert_index_in_step()


def test_seed_demo_bulk_inserts_are_indexed():
    call_command("seed_demo", records=60, stdout=StringIO())

    assert TaskRecord.objects.count() == 60
    assert_index_in_step()


def test_a_restore_is_indexed(tmp_path):
    record_id = record("Restore the axolotl")
    out = StringIO()
    call_command("export_records", stdout=out)
    path = tmp_path / "export.jsonl"
    path.write_text(out.getvalue())
    records_delete(TaskRecord.objects.all())
    assert found("axolotl") == set()

    call_command("import_legacy", str(path), stdout=StringIO(), stderr=StringIO())

    assert found("axolotl") == {record_id}
    assert_index_in_step()


def test_factory_rows_saved_directly_are_indexed_too():
    made = TaskRecordFactory(description="Written by the ORM's save()", task_label="bug_fix")

    assert found("orm save") == {made.record_id}
    assert found("bug fix") == {made.record_id}  # the label, split where it has punctuation
    made.description = "Renamed"
    made.save()
    assert found("orm") == set()
    made.delete()
    assert found("renamed") == set()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 triggers")
def test_triggers_dropped_by_a_table_rebuild_are_put_back_after_migrate():
    record_id = record("Before the rebuild: capybara")
    with connection.cursor() as cursor:  # what Django's SQLite table rebuild does to triggers
        cursor.execute("DROP TRIGGER records_taskrecord_fts_insert")
        cursor.execute("DROP TRIGGER records_taskrecord_fts_update")
    TaskRecordFactory(description="While broken: capybara")  # not indexed: no trigger

    assert repair_sqlite_index(connection) is True

    assert found("capybara") == set(TaskRecord.objects.values_list("record_id", flat=True))
    assert record_id in found("capybara")
    assert repair_sqlite_index(connection) is False  # whole again: nothing to do
    assert_index_in_step()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN index")
def test_postgresql_searches_through_the_gin_index():
    record("Index me, ocelot")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = TaskRecord.objects.filter(
            RecordFilters(search="ocelot").q()
        ).query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert PG_INDEX in plan


def test_the_day_word_of_the_index_is_no_word_a_search_finds():
    """PostgreSQL's index also holds each record's UTC day as a word (``_d`` and a number of
    days); nothing a user types can match it, on either database."""
    record_id = record("Plain words")
    stored = TaskRecord.objects.get(record_id=record_id)
    day = (stored.recorded_at.astimezone(UTC).date() - PG_DAY_EPOCH).days

    assert found("plain") == {record_id}
    assert found(f"d{day}") == set()
    assert found(f"_d{day}") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN index")
def test_a_search_over_some_weeks_asks_the_index_for_their_days_only():
    """A search's newest matches over a bounded window: the GIN index is asked for the window's
    UTC days as well as the words, so it yields no match of other days (which the read would
    have to visit only to drop them), and the exact times still decide."""
    now = timezone.now()
    newer = TaskRecordFactory(description="ocelot newer", minutes_ago=60)
    TaskRecordFactory(description="ocelot older", minutes_ago=20 * 24 * 60)  # outside the week
    edge = TaskRecordFactory(description="ocelot at the edge", minutes_ago=7 * 24 * 60 + 1)
    window = period_window("7d", now)

    matches = newest_first(window, RecordFilters(search="ocelot"))
    assert list(matches.values_list("pk", flat=True)) == [newer.pk]

    of_days = TaskRecord.objects.filter(row_matches("ocelot", days=[(window.start, window.end)]))
    same_day = edge.recorded_at.astimezone(UTC).date() == window.start.astimezone(UTC).date()
    # ``edge``'s day is asked for (unless the week began at midnight): its time is out
    assert set(of_days.values_list("pk", flat=True)) == {newer.pk} | (
        {edge.pk} if same_day else set()
    )
    with connection.cursor() as cursor:  # the index answers both the words and the days
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = of_days.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index_cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert PG_INDEX in plan and "ocelot" in index_cond and "_d" in index_cond
    assert day_words([(window.start, window.end)]).count("_d") == 8
