"""One record per identity across files and runs: fields merged, every source payload kept once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from records.models import ImportRun, TaskRecord
from records.recorder import record_task_performance
from records.rules.scoring import score_task
from tests.factories import TaskRecordFactory
from tests.records.legacy_helpers import (
    SAMPLES,
    assessment,
    patterns_dir,
    quality_history,
    run_import,
    write_json,
)

pytestmark = pytest.mark.django_db


def debugging_file(model: str, *records: dict) -> dict:
    return {
        "analysis_timestamp": "2025-10-24T22:15:37.228214",
        "performance_rankings": [],
        "detailed_metrics": {model: {"debugging_assessments": list(records)}},
    }


def test_the_same_identity_in_two_files_is_one_record_with_both_payloads(tmp_path):
    folder = patterns_dir(tmp_path)
    plain = assessment("debug-1", task_type="debugging")
    detailed = assessment(
        "debug-1",
        task_type="debugging",
        description="Fix the dashboard data loader",
        details={"duration_seconds": 400, "skills_used": ["code-analysis"]},
    )
    write_json(folder / "quality_history.json", quality_history(plain))
    write_json(folder / "debugging_performance.json", debugging_file("GLM-4.6", detailed))

    result = run_import(folder)

    record = TaskRecord.objects.get()
    assert record.model.name == "GLM 4.6"  # only the debugging file knew it
    assert record.description == "Fix the dashboard data loader"
    assert record.duration_seconds == 400
    assert list(record.skills.values_list("name", flat=True)) == ["code-analysis"]
    expected = score_task(duration_seconds=400, explicit_quality=89)
    assert (record.time_efficiency, record.performance_index) == (
        expected.time_efficiency,
        expected.performance_index,
    )
    assert record.raw == [
        {"source": "legacy:.claude-patterns/quality_history.json", "payload": plain},
        {"source": "legacy:.claude-patterns/debugging_performance.json", "payload": detailed},
    ]
    assert record.source == "legacy:.claude-patterns/quality_history.json"
    run = ImportRun.objects.get()
    assert (run.created, run.merged, run.skipped) == (1, 1, 0)
    assert "Created 1 records, merged 1 payloads" in result.out


def test_the_first_source_wins_a_conflict_and_later_ones_only_fill_gaps(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "performance_records.json",
        {"records": [assessment("r-1", overall_score=70, model_used="GLM 4.6")]},
    )
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("r-1", overall_score=95, model_used="Claude Opus 4.1", complexity="simple")
        ),
    )

    run_import(folder)

    record = TaskRecord.objects.get()
    assert (record.quality_score, record.model.name) == (70, "GLM 4.6")
    assert record.complexity == "simple"
    assert len(record.raw) == 2


def test_merging_across_runs_fills_gaps_and_recomputes_scores(tmp_path):
    first = patterns_dir(tmp_path / "first")
    second = patterns_dir(tmp_path / "second")
    write_json(first / "quality_history.json", quality_history(assessment("r-1")))
    write_json(
        second / "debugging_performance_7days.json",
        debugging_file(
            "Claude Sonnet 4.5",
            assessment("r-1", details={"time_elapsed_minutes": 30, "success": False}),
        ),
    )

    run_import(first)
    before = TaskRecord.objects.get()
    assert (before.model.name, before.time_efficiency, before.success) == ("Unknown", None, True)
    run_import(second)

    after = TaskRecord.objects.get()
    assert after.model.name == "Claude Sonnet 4.5"
    assert after.duration_seconds == 1800
    assert after.success is False  # not given before, so a later source may say it
    expected = score_task(success=False, duration_seconds=1800, explicit_quality=89)
    assert after.time_efficiency == expected.time_efficiency == 60.0
    assert after.performance_index == expected.performance_index
    assert ImportRun.objects.order_by("pk").last().merged == 1


def test_a_value_given_by_an_earlier_source_is_not_overwritten_in_a_later_run(tmp_path):
    first = patterns_dir(tmp_path / "first")
    second = patterns_dir(tmp_path / "second")
    write_json(first / "quality_history.json", quality_history(assessment("r-1", success=True)))
    write_json(
        second / "quality_history.json",
        quality_history(assessment("r-1", success=False, recommendations=["x"])),
    )

    run_import(first)
    run_import(second)

    record = TaskRecord.objects.get()
    assert record.success is True
    assert record.recommendations == ["x"]


def test_the_same_payload_is_never_stored_twice(tmp_path):
    folder = patterns_dir(tmp_path)
    payload = assessment("dup")
    write_json(folder / "quality_history.json", quality_history(payload, payload))

    run_import(folder)
    run_import(folder)
    run_import(tmp_path)  # the same folder reached another way

    record = TaskRecord.objects.get()
    assert record.raw == [
        {"source": "legacy:.claude-patterns/quality_history.json", "payload": payload}
    ]
    assert [run.skipped for run in ImportRun.objects.order_by("pk")] == [1, 2, 2]


def test_a_changed_payload_from_the_same_file_is_kept_beside_the_old_one(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "quality_history.json", quality_history(assessment("r-1")))
    run_import(folder)
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("r-1", recommendations=["added later"])),
    )

    run_import(folder)

    record = TaskRecord.objects.get()
    assert len(record.raw) == 2
    assert record.recommendations == ["added later"]


def test_skills_are_filled_but_not_replaced(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "performance_records.json",
        {"records": [assessment("r-1"), assessment("r-2", skills_used=["a"])]},
    )
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("r-1", skills_used=["b"]), assessment("r-2", skills_used=["c"])),
    )

    run_import(folder)

    skills = {
        r.record_id: sorted(r.skills.values_list("name", flat=True))
        for r in TaskRecord.objects.all()
    }
    assert skills == {"r-1": ["b"], "r-2": ["a"]}


def test_a_copy_without_a_timestamp_merges_into_a_known_record(tmp_path):
    folder = patterns_dir(tmp_path)
    no_time = assessment("r-1", recommendations=["from the copy"])
    del no_time["timestamp"]
    write_json(folder / "performance_records.json", {"records": [assessment("r-1")]})
    write_json(folder / "quality_history.json", quality_history(no_time))

    run_import(folder)

    record = TaskRecord.objects.get()
    assert record.recommendations == ["from the copy"]
    assert len(record.raw) == 2


def test_a_record_made_by_the_recorder_only_gains_the_payload(tmp_path):
    record_id = record_task_performance(
        {"task_type": "coding", "description": "Add the export", "duration": 100, "success": False},
        "GLM 4.6",
    )
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(assessment(record_id, overall_score=99, success=True, model_used="X")),
    )

    run_import(folder)

    record = TaskRecord.objects.get()
    assert (record.success, record.model.name, record.description) == (
        False,
        "GLM 4.6",
        "Add the export",
    )
    assert record.source == "recorder"
    assert [entry["source"] for entry in record.raw] == [
        "recorder",
        "legacy:.claude-patterns/quality_history.json",
    ]


def test_existing_records_keep_their_own_improvement_and_set_the_baseline(tmp_path):
    TaskRecordFactory(
        record_id="kept",
        task_type="validation",
        quality_score=60,
        quality_improvement=7.0,
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json", quality_history(assessment("new", overall_score=90))
    )

    run_import(folder)

    improvements = dict(TaskRecord.objects.values_list("record_id", "quality_improvement"))
    assert improvements == {"kept": 7.0, "new": 30.0}


def test_samples_merge_into_each_other_in_one_database():
    run_import(SAMPLES / "recorder-v3.7")
    run_import(SAMPLES / "mixed-formats")

    shared = TaskRecord.objects.get(record_id="auto-refactoring-20251026-190421")
    assert {entry["source"] for entry in shared.raw} == {
        "legacy:.claude-patterns/quality_history.json",
        "legacy:.claude-patterns/performance_records.json",
    }
    assert TaskRecord.objects.count() == 21 + 61 - 2
