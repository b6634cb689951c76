"""records.recorder: the Python API of docs/recording.md, through its public functions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from records.models import TaskRecord
from records.recorder import get_performance_summary, record_task_performance
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

SPEC_EXAMPLE = {
    "task_type": "refactoring",
    "description": "Improve authentication module",
    "complexity": "medium",
    "duration": 180,
    "success": True,
    "skills_used": ["code-analysis", "quality-standards"],
    "agents_delegated": ["code-analyzer"],
    "files_modified": 3,
    "lines_changed": 150,
    "issues_found": ["Long function in auth.py"],
    "recommendations": ["Split login()"],
    "best_practices_followed": True,
    "documentation_updated": False,
}


def test_records_the_spec_example_with_contract_scores():
    record_id = record_task_performance(SPEC_EXAMPLE, "Claude Sonnet 4.5")
    record = TaskRecord.objects.get(record_id=record_id)
    # efficiency at 180 s: 99 - 60 * 19/480 = 96.625 -> 96.6
    assert record.time_efficiency == 96.6
    # 30 + 0.25*95 + 0.20*96.6 + 15 + 5 = 93.07 -> 93.1
    assert record.quality_score == 93.1
    # 0.40*93.1 + 0.35*96.6 + 25 = 96.05 -> 96.1 (half up)
    assert record.performance_index == 96.1
    assert record.task_type == "refactoring"
    assert record.model.name == "Claude Sonnet 4.5"
    assert sorted(record.skills.values_list("name", flat=True)) == [
        "code-analysis",
        "quality-standards",
    ]
    assert list(record.agents.values_list("name", flat=True)) == ["code-analyzer"]
    assert record.issues == ["Long function in auth.py"]
    assert record.issues_count == 1
    assert record.recommendations == ["Split login()"]
    assert record.auto_generated is True
    assert record.source == "recorder"
    assert record.raw == [{"source": "recorder", "payload": SPEC_EXAMPLE}]
    assert record.quality_improvement is None  # the first of its type


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", -1),
        ("files_modified", "three"),
        ("lines_changed", 2.5),
        ("quality_score", "excellent"),
        ("overall_score", [90]),
        ("complexity", "enormous"),
        ("success", "yes"),
        ("skills_used", [1, 2]),
        ("duration", float("nan")),
        ("recorded_at", "last tuesday"),
        ("description", 42),
    ],
)
def test_invalid_task_data_names_the_field_and_writes_nothing(field, value):
    TaskRecordFactory()
    with pytest.raises(ValidationError) as caught:
        record_task_performance({**SPEC_EXAMPLE, field: value})
    assert field in caught.value.error_dict
    assert TaskRecord.objects.count() == 1


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationError) as caught:
        record_task_performance(
            {"task_type": "coding", "duration": -5, "files_modified": "x", "complexity": "?"}
        )
    assert set(caught.value.error_dict) == {"duration", "files_modified", "complexity"}


def test_task_data_must_name_a_task():
    with pytest.raises(ValidationError) as caught:
        record_task_performance({"duration": 10})
    assert "task_type" in caught.value.error_dict


def test_two_records_in_the_same_second_are_both_stored():
    at = "2025-10-21T11:28:00Z"
    first = record_task_performance({**SPEC_EXAMPLE, "recorded_at": at})
    second = record_task_performance({**SPEC_EXAMPLE, "recorded_at": at})
    assert first != second
    assert TaskRecord.objects.count() == 2


def test_explicit_manual_score_is_used_and_clamped():
    record_id = record_task_performance(
        {"task_type": "validation", "description": "QA", "overall_score": 140}
    )
    assert TaskRecord.objects.get(record_id=record_id).quality_score == 100.0


def test_quality_improvement_uses_the_previous_ten_of_the_same_type():
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for i, score in enumerate([50, 60, 70, 80, 90, 100, 100, 100, 100, 100, 100, 0]):
        TaskRecordFactory(
            task_type="debugging",
            quality_score=score,
            recorded_at=base + timedelta(minutes=i),
        )
    TaskRecordFactory(task_type="coding", quality_score=0, recorded_at=base + timedelta(hours=1))
    record_id = record_task_performance(
        {
            "task_type": "bug_fix",
            "description": "Fix crash",
            "overall_score": 90,
            "recorded_at": (base + timedelta(hours=2)).isoformat(),
        }
    )
    # previous ten debugging records: 70, 80, 90, six 100s and 0 -> mean 84
    record = TaskRecord.objects.get(record_id=record_id)
    assert record.task_type == "debugging"
    assert record.task_label == "bug_fix"
    assert record.quality_improvement == 6.0


def test_given_quality_improvement_wins():
    TaskRecordFactory(task_type="coding", quality_score=10)
    record_id = record_task_performance({**SPEC_EXAMPLE, "quality_improvement": 7})
    assert TaskRecord.objects.get(record_id=record_id).quality_improvement == 7.0


def test_model_falls_back_to_env_then_unknown(monkeypatch):
    task = {"task_type": "coding", "description": "Add a button"}
    assert _model_of(record_task_performance(task)) == "Unknown"
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-sonnet-4-5-20250929")
    assert _model_of(record_task_performance(task)) == "Claude Sonnet 4.5"
    monkeypatch.setenv("PERFSITE_MODEL", "glm-4.6")
    assert _model_of(record_task_performance(task)) == "GLM 4.6"
    assert _model_of(record_task_performance(task, "Claude Opus 4.1")) == "Claude Opus 4.1"


def _model_of(record_id):
    return TaskRecord.objects.get(record_id=record_id).model.name


def test_unknown_extra_keys_are_kept_in_the_raw_payload():
    payload = {**SPEC_EXAMPLE, "ticket": "PERF-12", "nested": {"a": [1, 2]}}
    record_id = record_task_performance(payload)
    assert TaskRecord.objects.get(record_id=record_id).raw[0]["payload"]["nested"] == {"a": [1, 2]}


def test_a_record_id_given_twice_returns_the_first_record():
    first = record_task_performance({**SPEC_EXAMPLE, "record_id": "agent-42-task-7"})
    again = record_task_performance({**SPEC_EXAMPLE, "record_id": "agent-42-task-7"})
    assert first == again == "agent-42-task-7"
    assert TaskRecord.objects.count() == 1


def test_summary_groups_spellings_of_a_model_and_counts_the_period():
    for name in ["GLM-4.6", "glm 4.6", "GLM 4.6"]:
        record_task_performance({**SPEC_EXAMPLE, "overall_score": 80}, name)
    record_task_performance(
        {**SPEC_EXAMPLE, "success": False, "overall_score": 40}, "claude-opus-4-1"
    )
    old = (timezone.now() - timedelta(days=40)).isoformat()
    record_task_performance({**SPEC_EXAMPLE, "recorded_at": old}, "GLM-4.6")

    summary = get_performance_summary(days=30)

    assert summary["period_days"] == 30
    assert summary["total_tasks"] == 4
    assert summary["models_used"] == {
        "GLM 4.6": {"count": 3, "avg_score": 80.0},
        "Claude Opus 4.1": {"count": 1, "avg_score": 40.0},
    }
    assert summary["task_types"] == {"refactoring": {"count": 4, "avg_score": 70.0}}
    assert summary["avg_score"] == 70.0
    assert summary["success_rate"] == 75.0
    assert set(summary) >= {"period_start", "period_end", "insights"}
    assert get_performance_summary(days=60)["total_tasks"] == 5


@pytest.mark.parametrize("days", [0, -3, "7", 1.5])
def test_summary_rejects_bad_days(days):
    with pytest.raises(ValueError, match="days"):
        get_performance_summary(days=days)


def test_the_record_returned_by_the_write_service_is_the_stored_row():
    """record_create inserts with its own SQL; what it hands back must equal a fresh read."""
    from records.recording.schema import clean_task_data
    from records.recording.services import record_create

    payload = {
        **SPEC_EXAMPLE,
        "description": "Ünïcode ✓ refactor",
        "recorded_at": "2025-10-21T11:28Z",
    }
    record, created = record_create(
        task=clean_task_data(payload, "GLM 4.6"), source="recorder", payload=payload
    )
    stored = TaskRecord.objects.get(pk=record.pk)
    columns = [f.attname for f in TaskRecord._meta.concrete_fields]
    assert created
    assert [getattr(record, c) for c in columns] == [getattr(stored, c) for c in columns]
    assert not record._state.adding
    assert record.recorded_at == datetime(2025, 10, 21, 11, 28, tzinfo=UTC)
    record.save()  # a stored object: saving updates the row, never inserts a second one
    assert TaskRecord.objects.count() == 1
