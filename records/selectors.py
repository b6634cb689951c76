"""Reads. Views, commands and the JSON API ask these; nothing outside records queries the ORM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from records.models import TaskRecord
from records.periods import Window, days_window

MAX_SUMMARY_DAYS = 36_500


def records_in(window: Window) -> QuerySet[TaskRecord]:
    qs = TaskRecord.objects.filter(recorded_at__lte=window.end)
    if window.start is not None:
        qs = qs.filter(recorded_at__gt=window.start)
    return qs


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def validate_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_SUMMARY_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_SUMMARY_DAYS}.")
    return days


def performance_summary(*, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """The recorder's summary: totals, per type and per model over the last ``days`` days.

    ``success_rate`` is a percentage (0-100) of tasks whose ``success`` is true.
    """
    days = validate_days(days)
    window = days_window(days, now or timezone.now())
    qs = records_in(window)
    totals = qs.aggregate(
        total=Count("id"), avg=Avg("quality_score"), ok=Count("id", filter=Q(success=True))
    )
    task_types = {
        row["task_type"]: {"count": row["count"], "avg_score": _one_decimal(row["avg"])}
        for row in qs.values("task_type")
        .annotate(count=Count("id"), avg=Avg("quality_score"))
        .order_by("-count", "task_type")
    }
    models_used = {
        row["model__name"]: {"count": row["count"], "avg_score": _one_decimal(row["avg"])}
        for row in qs.values("model__name")
        .annotate(count=Count("id"), avg=Avg("quality_score"))
        .order_by("-count", "model__name")
    }
    return {
        "period_days": days,
        "total_tasks": totals["total"],
        "avg_score": _one_decimal(totals["avg"]) or 0.0,
        "success_rate": _percent(totals["ok"], totals["total"]),
        "task_types": task_types,
        "models_used": models_used,
        "period_start": window.start.isoformat(),
        "period_end": window.end.isoformat(),
        "insights": {},
    }


def has_records() -> bool:
    return TaskRecord.objects.exists()
