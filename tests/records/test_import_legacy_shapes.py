"""Every legacy file shape, and how each field is normalised on the way in (through the command)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from records.models import AIModel, ImportRun, TaskRecord
from records.rules.scoring import score_task
from tests.records.legacy_helpers import (
    assessment,
    patterns_dir,
    quality_history,
    run_import,
    write_json,
)

pytestmark = pytest.mark.django_db


def recorder_record(assessment_id: str, **overrides) -> dict:
    """performance_records.json "records" entry in the recorder's own shape (v3.7)."""
    record = {
        "assessment_id": assessment_id,
        "timestamp": "2025-10-26T19:04:21.874637Z",
        "task_type": "refactoring",
        "overall_score": 91,
        "breakdown": {"tests_passing": 32, "code_metrics": 7},
        "details": {
            "auto_recorded": True,
            "model_used": "claude-sonnet-4-5-20250929",
            "task_description": "Refactor the billing module into services",
            "task_complexity": "high",
            "duration_seconds": 300,
            "skills_used": ["code-analysis", "quality-standards"],
            "agents_delegated": ["code-analyzer"],
            "files_modified": 4,
            "lines_changed": 120,
            "success": True,
            "quality_improvement": 6,
            "time_efficiency": 12.5,
            "performance_index": 69.375,
        },
        "issues_found": ["Long function"],
        "recommendations": ["Split the module"],
        "pass": True,
        "auto_generated": True,
        "model_used": "claude-sonnet-4-5-20250929",
    }
    record.update(overrides)
    return record


def flat_record(timestamp: str, task_type: str, **overrides) -> dict:
    """The flat shape found beside recorder records in performance_records.json."""
    record = {
        "timestamp": timestamp,
        "task_type": task_type,
        "quality_score": 92,
        "duration": 298,
        "success": True,
        "skills_used": ["pattern-learning"],
        "auto_generated": True,
    }
    record.update(overrides)
    return record


def test_quality_history_assessments(tmp_path):
    folder = patterns_dir(tmp_path)
    payload = assessment(
        "quality-check-20251021-001",
        task_type="bug_fix",
        issues_found=["No test suite", "fcntl is not portable"],
        recommendations=["Add unit tests"],
    )
    write_json(folder / "quality_history.json", quality_history(payload))

    run_import(folder)

    record = TaskRecord.objects.get()
    assert record.record_id == "quality-check-20251021-001"
    assert (record.task_type, record.task_label) == ("debugging", "bug_fix")
    assert record.recorded_at == datetime(2025, 10, 21, 11, 28, tzinfo=UTC)
    assert record.quality_score == 89.0
    assert record.score_breakdown["manual"] is True
    assert record.issues == ["No test suite", "fcntl is not portable"]
    assert record.issues_count == 2
    assert record.recommendations == ["Add unit tests"]
    assert record.auto_generated is False  # legacy assessments are manual unless they say so
    assert record.model.name == "Unknown"
    assert record.source == "legacy:.claude-patterns/quality_history.json"
    assert record.raw == [
        {"source": "legacy:.claude-patterns/quality_history.json", "payload": payload}
    ]


def test_performance_records_in_the_recorders_shape(tmp_path):
    folder = patterns_dir(tmp_path)
    payload = recorder_record("auto-refactoring-20251026-190421")
    write_json(folder / "performance_records.json", {"version": "2.0.0", "records": [payload]})

    run_import(folder)

    record = TaskRecord.objects.get()
    assert record.model.name == "Claude Sonnet 4.5"
    assert record.description == "Refactor the billing module into services"
    assert (record.task_type, record.complexity) == ("refactoring", "complex")
    assert record.duration_seconds == 300
    assert sorted(record.skills.values_list("name", flat=True)) == [
        "code-analysis",
        "quality-standards",
    ]
    assert list(record.agents.values_list("name", flat=True)) == ["code-analyzer"]
    assert (record.files_modified, record.lines_changed) == (4, 120)
    assert record.auto_generated is True
    assert record.quality_improvement == 6
    # Given numbers stay: the file's quality, efficiency and index, not the formulas' 91.9/93.6.
    assert record.quality_score == 91
    assert record.time_efficiency == 12.5
    assert record.performance_index == 69.375
    assert {"quality_score", "time_efficiency", "performance_index"} <= set(
        record.score_breakdown["given"]
    )
    assert record.raw[0]["payload"]["details"]["performance_index"] == 69.375


def test_performance_records_flat_shape_is_identified_by_time_and_type(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "performance_records.json",
        {
            "records": [
                flat_record("2025-10-26T23:46:13.037778Z", "pattern-learning"),
                flat_record("2025-10-26T23:46:13.037778Z", "gui-design-enhancement"),
                flat_record("2025-10-27T00:46:13.037778+01:00", "pattern-learning"),  # same instant
            ],
            "summary": {"testing": {"count": 3}},
        },
    )

    run_import(folder)

    assert TaskRecord.objects.count() == 2
    record = TaskRecord.objects.get(task_label="pattern-learning")
    assert record.record_id.startswith("legacy-pattern-learning-20251026-234613-")
    assert len(record.raw) == 2  # the second spelling of the same instant was merged
    assert record.quality_score == 92
    assert record.duration_seconds == 298
    expected = score_task(duration_seconds=298, explicit_quality=92)
    assert record.performance_index == expected.performance_index

    TaskRecord.objects.all().delete()
    run_import(folder)
    assert record.record_id in set(TaskRecord.objects.values_list("record_id", flat=True))


def test_flat_records_without_a_score_are_scored_by_the_contract(tmp_path):
    folder = patterns_dir(tmp_path)
    record = flat_record("2025-10-26T21:00:00Z", "testing", success=False, duration=700)
    del record["quality_score"]
    record.update(issues_found=3, best_practices_followed=False, documentation_updated=True)
    write_json(folder / "performance_records.json", {"records": [record]})

    run_import(folder)

    stored = TaskRecord.objects.get()
    expected = score_task(
        success=False,
        issues_count=3,
        duration_seconds=700,
        best_practices_followed=False,
        documentation_updated=True,
    )
    assert stored.quality_score == expected.quality_score
    assert stored.time_efficiency == expected.time_efficiency
    assert stored.performance_index == expected.performance_index
    assert stored.score_breakdown["manual"] is False
    assert stored.success is False
    assert stored.issues_count == 3


def test_performance_records_as_a_bare_list_with_naive_times_and_assume_tz(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "performance_records.json",
        [
            {
                "task_id": "t-1",
                "task_type": "coding",
                "timestamp": "2025-07-01T12:00:00",
                "success": True,
            },
            {"task_id": "t-2", "task_type": "testing", "timestamp": "2025-01-15T08:30:00"},
        ],
    )

    run_import(folder, assume_tz="Europe/Berlin")

    times = dict(TaskRecord.objects.values_list("record_id", "recorded_at"))
    assert times["t-1"] == datetime(2025, 7, 1, 10, 0, tzinfo=UTC)  # CEST, UTC+2
    assert times["t-2"] == datetime(2025, 1, 15, 7, 30, tzinfo=UTC)  # CET, UTC+1


def test_assume_tz_takes_a_fixed_offset(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "performance_records.json",
        [{"task_id": "t-1", "task_type": "coding", "timestamp": "2025-07-01T12:00:00"}],
    )

    run_import(folder, assume_tz="-05:00")

    assert TaskRecord.objects.get().recorded_at == datetime(2025, 7, 1, 17, 0, tzinfo=UTC)


def test_debugging_performance_files_take_the_model_from_the_key(tmp_path):
    folder = patterns_dir(tmp_path)
    debug = assessment(
        "debug-eval-dashboard-20251024-214104",
        task_type="debugging-evaluation",
        timestamp="2025-10-24T21:41:04.668961Z",
        overall_score=97,
        details={"quality_improvement": 13, "issues_found": 1, "time_elapsed_minutes": 2.5},
        issues_found=["Random score generation without deterministic seeding"],
        model_used="Claude Sonnet 4.5",  # the key wins, as in the old dashboard
    )
    for name, days in (
        ("debugging_performance.json", None),
        ("debugging_performance_7days.json", 7),
    ):
        data = {
            "analysis_timestamp": "2025-10-24T22:15:37.228214",
            "performance_rankings": [{"rank": 1, "model": "GLM-4.6"}],
            "detailed_metrics": {
                "GLM-4.6": {
                    "quality_metrics": {"qis": 58.4},
                    "debugging_assessments": [debug],
                }
            },
        }
        if days:
            data["timeframe_days"] = days
        write_json(folder / name, data)

    result = run_import(folder)

    record = TaskRecord.objects.get()
    assert record.model.name == "GLM 4.6"
    assert record.task_type == "debugging"
    assert record.duration_seconds == 150
    assert record.quality_improvement == 13
    assert record.issues_count == 1
    assert sorted(entry["source"] for entry in record.raw) == [
        "legacy:.claude-patterns/debugging_performance.json",
        "legacy:.claude-patterns/debugging_performance_7days.json",
    ]
    assert "performance_rankings" in result.out  # reported as a section that is not records


def test_assessments_json(tmp_path):
    folder = patterns_dir(tmp_path)
    entry = {
        "assessment_id": "validate-claude-plugin-20251023-211431",
        "timestamp": "2025-10-23T21:14:31.734001+00:00",
        "command_name": "validate-claude-plugin",
        "assessment_type": "validation",
        "task_type": "validation",
        "overall_score": 100,
        "breakdown": {},
        "details": {},
        "issues_found": [],
        "recommendations": [],
        "agents_used": ["validation-controller"],
        "skills_used": ["validation-standards"],
        "execution_time_minutes": 1.5,
        "pass_threshold_met": True,
        "additional_metrics": {},
        "success": True,
    }
    write_json(
        folder / "assessments.json",
        {"assessments": [entry], "command_performance": {}, "total_assessments": 1},
    )

    run_import(folder)

    record = TaskRecord.objects.get()
    assert record.record_id == "validate-claude-plugin-20251023-211431"
    assert record.task_type == "validation"
    assert record.duration_seconds == 90
    assert list(record.agents.values_list("name", flat=True)) == ["validation-controller"]
    assert list(record.skills.values_list("name", flat=True)) == ["validation-standards"]
    assert record.source == "legacy:.claude-patterns/assessments.json"


def test_the_old_claude_quality_bare_list_with_fractions(tmp_path):
    project = tmp_path / "project"
    patterns_dir(project)
    write_json(
        project / ".claude-quality" / "quality_history.json",
        [
            {
                "task_id": "task_123",
                "quality_score": 0.85,
                "timestamp": "2025-10-01T09:00:00.123456",
                "metrics": {"syntax_compliance": 0.9, "functionality": 0.8},
            },
            {"task_id": "task_124", "quality_score": 1.0, "timestamp": "2025-10-02T09:00:00"},
        ],
    )

    run_import(project)

    scores = dict(TaskRecord.objects.values_list("record_id", "quality_score"))
    assert scores == {"task_123": 85.0, "task_124": 100.0}
    record = TaskRecord.objects.get(record_id="task_123")
    assert record.task_type == "general"
    assert record.source == "legacy:.claude-quality/quality_history.json"
    assert record.raw[0]["payload"]["metrics"] == {"syntax_compliance": 0.9, "functionality": 0.8}


def test_the_claude_quality_folder_alone_and_a_single_file_import_too(tmp_path):
    path = write_json(
        tmp_path / ".claude-quality" / "quality_history.json",
        [{"task_id": "task_9", "quality_score": 0.5, "timestamp": "2025-10-01T09:00:00"}],
    )

    run_import(tmp_path / ".claude-quality")
    run_import(path)

    assert list(TaskRecord.objects.values_list("record_id", "quality_score")) == [("task_9", 50.0)]


def test_an_explicit_json_file_with_an_unknown_name_is_read_if_it_holds_records(tmp_path):
    path = write_json(tmp_path / "export-2025.json", quality_history(assessment("exported-1")))
    other = write_json(tmp_path / "settings.json", {"theme": "dark"})

    result = run_import(path, other)

    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == ["exported-1"]
    assert "no legacy record list in this file" in result.out


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2025-10-21T11:28:00Z", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("2025-10-21T11:28:00.500000Z", datetime(2025, 10, 21, 11, 28, 0, 500000, tzinfo=UTC)),
        ("2025-10-21T13:28:00+02:00", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("2025-10-21T11:28:00+00:00Z", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("2025-10-21T11:28:00", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("2025-10-21 11:28:00", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        (1761046080, datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        (1761046080.5, datetime(2025, 10, 21, 11, 28, 0, 500000, tzinfo=UTC)),
        (1761046080000, datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("1761046080", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
        ("2025-10-21", datetime(2025, 10, 21, tzinfo=UTC)),
        ("2025-10-21 11:28:00 UTC", datetime(2025, 10, 21, 11, 28, tzinfo=UTC)),
    ],
)
def test_every_timestamp_form_becomes_utc(tmp_path, written, expected):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json", quality_history(assessment("a-1", timestamp=written))
    )

    run_import(folder)

    assert TaskRecord.objects.get().recorded_at == expected


@pytest.mark.parametrize(
    ("written", "expected", "warned"),
    [
        (0.85, 85.0, False),  # a fraction
        (1.0, 100.0, False),
        (0.0, 0.0, False),
        (1, 1.0, False),  # ints are points
        (87, 87.0, False),
        (87.5, 87.5, False),
        ("0.9", 90.0, False),
        ("93", 93.0, False),
        (140, 100.0, True),  # clamped and reported
        (-5, 0.0, True),
    ],
)
def test_scores_are_points_fractions_are_scaled_and_out_of_range_is_clamped(
    tmp_path, written, expected, warned
):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json", quality_history(assessment("a-1", overall_score=written))
    )

    result = run_import(folder)

    assert TaskRecord.objects.get().quality_score == expected
    assert ("clamped" in result.err) is warned
    if warned:
        assert "quality_history.json, record 0" in result.err
        assert ImportRun.objects.get().errors[0]["level"] == "warning"


def test_issues_found_as_a_list_or_a_number(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("as-list", issues_found=["a", {"message": "b", "severity": "high"}, "  "]),
            assessment("as-number", issues_found=4),
            assessment("in-details", issues_found=None, details={"issues_found": 2}),
        ),
    )

    run_import(folder)

    stored = {r.record_id: (r.issues, r.issues_count) for r in TaskRecord.objects.all()}
    assert stored == {
        "as-list": (["a", "b"], 2),
        "as-number": ([], 4),
        "in-details": ([], 2),
    }


def test_files_modified_given_as_a_list_of_paths_counts_them(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("doc-1", details={"files_modified": ["README.md", "docs/a.md"]})
        ),
    )

    run_import(folder)

    assert TaskRecord.objects.get().files_modified == 2


def test_labels_are_classified_and_model_names_normalised(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("a", task_type="feature-implementation", model_used="GLM-4.6"),
            assessment("b", task_type="dashboard-fix", model_used="glm 4.6"),
            assessment("c", task_type="test", details={"model_used": "GLM 4.6"}),
            assessment("d", task_type="something-new", model_used="  My Local Model  "),
        ),
    )

    run_import(folder)

    stored = {
        r.record_id: (r.task_type, r.task_label, r.model.name) for r in TaskRecord.objects.all()
    }
    assert stored == {
        "a": ("coding", "feature-implementation", "GLM 4.6"),
        "b": ("debugging", "dashboard-fix", "GLM 4.6"),
        "c": ("testing", "test", "GLM 4.6"),
        "d": ("general", "something-new", "My Local Model"),
    }
    assert sorted(AIModel.objects.values_list("name", flat=True)) == ["GLM 4.6", "My Local Model"]


def test_success_words_the_old_tool_wrote_are_understood(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("a", success="completed"),
            assessment("b", success="failed"),
            assessment("c", details={"success": 0}),
        ),
    )

    run_import(folder)

    assert dict(TaskRecord.objects.values_list("record_id", "success")) == {
        "a": True,
        "b": False,
        "c": False,
    }


def test_auto_generated_comes_from_the_payload(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("top", auto_generated=True),
            assessment("details", details={"auto_recorded": True}),
            assessment("manual"),
        ),
    )

    run_import(folder)

    assert dict(TaskRecord.objects.values_list("record_id", "auto_generated")) == {
        "top": True,
        "details": True,
        "manual": False,
    }


def test_quality_improvement_is_given_or_derived_from_the_baseline(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("third", timestamp="2025-10-03T00:00:00Z", overall_score=95),
            assessment("first", timestamp="2025-10-01T00:00:00Z", overall_score=80),
            assessment("given", timestamp="2025-10-04T00:00:00Z", quality_improvement=-2.5),
            assessment("second", timestamp="2025-10-02T00:00:00Z", overall_score=90),
            assessment("other-type", timestamp="2025-10-05T00:00:00Z", task_type="coding"),
        ),
    )

    run_import(folder)

    improvements = dict(TaskRecord.objects.values_list("record_id", "quality_improvement"))
    assert improvements == {
        "first": None,  # no earlier record of its type
        "second": 10.0,  # 90 - 80
        "third": 10.0,  # 95 - mean(80, 90)
        "given": -2.5,
        "other-type": None,
    }


def test_derived_improvements_follow_records_imported_later(tmp_path):
    newer = patterns_dir(tmp_path / "newer")
    older = patterns_dir(tmp_path / "older")
    write_json(
        newer / "quality_history.json",
        quality_history(assessment("new", timestamp="2025-10-02T00:00:00Z", overall_score=90)),
    )
    write_json(
        older / "quality_history.json",
        quality_history(assessment("old", timestamp="2025-10-01T00:00:00Z", overall_score=70)),
    )

    run_import(newer)
    assert TaskRecord.objects.get(record_id="new").quality_improvement is None
    run_import(older)

    assert TaskRecord.objects.get(record_id="new").quality_improvement == 20.0


def test_improvements_do_not_depend_on_how_the_records_were_split_into_imports(tmp_path):
    records = [
        assessment(f"r-{n:02d}", timestamp=f"2025-10-{n + 1:02d}T00:00:00Z", overall_score=60 + n)
        for n in range(24)
    ]
    together = patterns_dir(tmp_path / "together")
    write_json(together / "quality_history.json", quality_history(*records))
    run_import(together)
    expected = dict(TaskRecord.objects.values_list("record_id", "quality_improvement"))
    TaskRecord.objects.all().delete()

    # The second import starts more than ten records in: its baselines reach into the first.
    second = {13, 16, 19, 22}
    first_folder, second_folder = patterns_dir(tmp_path / "a"), patterns_dir(tmp_path / "b")
    write_json(
        first_folder / "quality_history.json",
        quality_history(*[r for n, r in enumerate(records) if n not in second]),
    )
    write_json(
        second_folder / "quality_history.json",
        quality_history(*[r for n, r in enumerate(records) if n in second]),
    )
    run_import(first_folder)
    run_import(second_folder)

    assert dict(TaskRecord.objects.values_list("record_id", "quality_improvement")) == expected
    assert expected["r-00"] is None
    assert expected["r-23"] == 83 - (73 + 82) / 2  # mean of the ten before: 73..82


def test_a_megabyte_metadata_string_and_many_batches_stream_through(tmp_path):
    folder = patterns_dir(tmp_path)
    records = [
        assessment(f"a-{n}", timestamp=f"2025-10-01T00:{n // 60:02d}:{n % 60:02d}Z")
        for n in range(25)
    ]
    records.append(assessment("a-3", recommendations=["filled from a later batch"]))
    data = quality_history(*records)
    data["metadata"]["quality_trajectory"] = "89 \u00e2\u2020\u2019 95 " * 150_000
    write_json(folder / "quality_history.json", data)
    assert (folder / "quality_history.json").stat().st_size > 1_000_000

    result = run_import(folder, batch_size=4)

    assert TaskRecord.objects.count() == 25
    assert TaskRecord.objects.get(record_id="a-3").recommendations == ["filled from a later batch"]
    row = next(line for line in result.out.splitlines() if line.startswith(".claude-patterns/"))
    assert row.split()[-4:] == ["25", "1", "0", "0"]


def test_patterns_unknown_and_non_json_files_are_skipped_with_a_message(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "quality_history.json", quality_history(assessment("a")))
    write_json(folder / "patterns.json", {"patterns": [{"task_type": "coding", "timestamp": "x"}]})
    write_json(folder / "config.json", {"records": [assessment("not-read")]})
    write_json(folder / "model_performance.json", {"GLM 4.6": {"recent_scores": []}})
    (folder / "notes.txt").write_text("hello")
    write_json(
        folder / "backups" / "b1" / "quality_history.json", quality_history(assessment("old"))
    )

    result = run_import(folder)

    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == ["a"]
    assert "learned patterns, not performance records" in result.out
    assert "config.json" in result.out
    assert "not a legacy performance file" in result.out
    assert "aggregate" in result.out
    assert "notes.txt" in result.out and "skipped: not a JSON file" in result.out
    assert ".claude-patterns/backups/" in result.out


def test_sections_that_are_not_records_are_reported(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "quality_history.json", quality_history(assessment("a")))

    result = run_import(folder)

    assert "not records, not imported: statistics, baselines, metadata" in result.out


def test_the_raw_payload_is_kept_verbatim(tmp_path):
    folder = patterns_dir(tmp_path)
    payload = recorder_record(
        "auto-x",
        custom={"nested": [1, 2.5, None, True, "\u00e9\u2192"]},
        learning_evidence={"pattern_reused": True},
    )
    path = write_json(folder / "performance_records.json", {"records": [payload]})

    run_import(folder)

    stored = TaskRecord.objects.get().raw
    assert stored == [
        {"source": "legacy:.claude-patterns/performance_records.json", "payload": payload}
    ]
    assert json.loads(path.read_text())["records"][0] == stored[0]["payload"]
