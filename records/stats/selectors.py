"""Reads. Views, commands and the JSON API ask these; nothing outside records queries the ORM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from records.models import TaskRecord
from records.rules.periods import days_window
from records.stats.aggregates import one_decimal, overall, totals
from records.stats.filters import RecordFilters
from records.stats.insights import task_insights

MAX_SUMMARY_DAYS = 36_500
# How many of the newest records /api/recent-performance-records lists, as the old Flask
# dashboard did (its totals still count every record of the days asked for).
RECENT_RECORDS_LIMIT = 50


def validate_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SUMMARY_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_SUMMARY_DAYS}.")
    return days


def performance_summary(
    *, days: int = 30, now: datetime | None = None, project: str | None = None
) -> dict[str, Any]:
    """The recorder's summary: totals, per type, per model and insights over the last ``days``
    (of one ``project`` only when given).

    ``success_rate`` is a percentage (0-100) of tasks whose ``success`` is true. Read from the
    rollups, so it costs the same at a thousand records as at a million.
    """
    days = validate_days(days)
    window = days_window(days, now or timezone.now())
    filters = RecordFilters(project=project or None)
    read = {"window": window, "filters": filters}
    total = overall(**read)
    by_type = sorted(
        totals(**read, by=("task_type",)), key=lambda t: (-t.count, t.key["task_type"])
    )
    by_model = sorted(totals(**read, by=("model",)), key=lambda t: (-t.count, t.key["model"]))
    return {
        "period_days": days,
        "total_tasks": total.count,
        "avg_score": one_decimal(total.avg_quality) or 0.0,
        "success_rate": one_decimal(total.success_rate) or 0.0,
        "task_types": {
            t.key["task_type"]: {"count": t.count, "avg_score": one_decimal(t.avg_quality)}
            for t in by_type
        },
        "models_used": {
            t.key["model"]: {"count": t.count, "avg_score": one_decimal(t.avg_quality)}
            for t in by_model
        },
        "period_start": window.start.isoformat(),
        "period_end": window.end.isoformat(),
        "insights": task_insights(**read).summary(),
    } | ({"project": project} if project else {})


def has_records() -> bool:
    return TaskRecord.objects.exists()
