"""The old Flask dashboard's JSON, key for key: what ``/api/recent-performance-records`` answers.

The records and counts come from ``dashboard.selectors.newest_records``; this module only gives
them the old tool's names (with Perfsite's own names beside them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboard.selectors import newest_records
from records.models import TaskRecord
from records.rules.periods import days_window
from records.stats.selectors import RECENT_RECORDS_LIMIT


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def legacy_record(record: TaskRecord) -> dict[str, Any]:
    """One record in the old tool's shape (plus Perfsite's own names beside the old ones)."""
    return {
        "assessment_id": record.record_id,
        "record_id": record.record_id,
        "timestamp": _iso(record.recorded_at),
        "task_type": record.task_type,
        "task_label": record.task_label,
        "overall_score": record.quality_score,
        "quality_score": record.quality_score,
        "performance_index": record.performance_index,
        "time_efficiency": record.time_efficiency,
        "quality_improvement": record.quality_improvement,
        "model_used": record.model.name,
        "auto_generated": record.auto_generated,
        "pass": record.passed,
        "success": record.success,
        "description": record.description,
        "complexity": record.complexity,
        "skills_used": [s.name for s in record.skills.all()],
        "agents_delegated": [a.name for a in record.agents.all()],
        "duration": record.duration_seconds,
        "files_modified": record.files_modified,
        "lines_changed": record.lines_changed,
        "issues_found": record.issues,
        "issues_count": record.issues_count,
        "recommendations": record.recommendations,
        "breakdown": record.score_breakdown,
        "source": record.source,
    }


def recent_performance_records(*, days: int, now: datetime) -> dict[str, Any]:
    """The newest RECENT_RECORDS_LIMIT records of the last ``days`` days, with totals over all the
    records of those days (task types with the most records first)."""
    found = newest_records(window=days_window(days, now), limit=RECENT_RECORDS_LIMIT)
    return {
        "records": [legacy_record(r) for r in found.records],
        "total_records": found.total,
        "showing_records": len(found.records),
        "task_type_stats": {
            g.key: {
                "count": g.count,
                "avg_score": g.avg_quality,
                "avg_performance_index": g.avg_performance_index,
                "success_rate": g.success_rate,
                "pass_rate": g.pass_rate,
            }
            for g in sorted(found.by_type, key=lambda g: (-g.count, g.key))
        },
        "auto_generated_count": found.auto_count,
        "manual_assessment_count": found.total - found.auto_count,
        "last_updated": now.isoformat(),
        "period_days": days,
    }
