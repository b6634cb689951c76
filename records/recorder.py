"""The recorder's public Python API, with the signatures of the tool Perfsite replaces.

from records.recorder import record_task_performance
record_id = record_task_performance({"task_type": "refactoring", "description": "…",
                                     "duration": 180, "success": True}, "Claude Sonnet 4.5")
"""

from __future__ import annotations

from typing import Any

from records.recording.schema import clean_task_data
from records.recording.services import record_create
from records.stats import selectors

SOURCE_RECORDER = "recorder"


def record_task_performance(
    task_data: dict[str, Any], model_used: str | None = None, *, source: str = SOURCE_RECORDER
) -> str:
    """Validate and store one finished task; return its record id.

    Raises ``django.core.exceptions.ValidationError`` (``error_dict`` keyed by field) for invalid
    task_data; nothing is written then.
    """
    task = clean_task_data(task_data, model_used)
    record, _created = record_create(task=task, source=source, payload=task_data)
    return record.record_id


def get_performance_summary(days: int = 30, project: str | None = None) -> dict[str, Any]:
    """Totals, averages, per-type and per-model figures and insights for the last ``days`` days
    (of one ``project``, a TaskRecord.project, when given)."""
    return selectors.performance_summary(days=days, project=project)
