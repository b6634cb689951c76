"""The old Flask dashboard's JSON, key for key: what ``/api/recent-performance-records`` answers.

Without ``days`` it is the old endpoint's response exactly (``old_recent_performance_records``:
the newest 50 of all records, with the old keys only; docs/migrating.md). With ``?days=N`` it is
Perfsite's richer variant (``recent_performance_records``): the old names with Perfsite's own
beside them, and counts over every record of those days. The records and counts come from
``dashboard.selectors``; this module only gives them names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dashboard.selectors import newest_of_all, newest_records
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


# --- The old endpoint, exactly ---------------------------------------------------------------

OLD_RECORD_KEYS = (
    "timestamp",
    "model",
    "assessment_id",
    "task_type",
    "overall_score",
    "performance_index",
    "evaluation_target",
    "quality_improvement",
    "issues_found",
    "fixes_applied",
    "time_elapsed_minutes",
    "success_rate",
    "pass",
    "auto_generated",
)


def _payloads(record: TaskRecord) -> list[dict[str, Any]]:
    raw = record.raw if isinstance(record.raw, list) else [record.raw]
    found = []
    for entry in raw:
        payload = entry.get("payload") if isinstance(entry, dict) else None
        if isinstance(payload, dict):
            found.append(payload)
    return found


def _given(record: TaskRecord, key: str) -> Any:
    """``key`` as a source payload gave it (top level, then ``details``), else None."""
    for payload in _payloads(record):
        details = payload.get("details")
        for where in (payload, details if isinstance(details, dict) else {}):
            if where.get(key) is not None:
                return where[key]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _success_rate(record: TaskRecord) -> float:
    """100 or 0 from ``success``; a debugging assessment's own rate (a fraction) times 100."""
    rate = _number(_given(record, "success_rate"))
    if rate is not None:
        return round(rate * 100 if 0 <= rate <= 1 else rate, 1)
    return 100.0 if record.success else 0.0


def old_record(record: TaskRecord) -> dict[str, Any]:
    """One record as the old endpoint listed it: OLD_RECORD_KEYS, nothing else."""
    minutes = _number(_given(record, "time_elapsed_minutes"))
    if minutes is None and record.duration_seconds is not None:
        minutes = round(record.duration_seconds / 60, 2)
    target = _given(record, "evaluation_target")
    fixes = _number(_given(record, "fixes_applied"))
    return {
        "timestamp": _iso(record.recorded_at),
        "model": record.model.name,
        "assessment_id": record.record_id,
        "task_type": record.task_label or record.task_type,
        "overall_score": record.quality_score,
        "performance_index": record.performance_index,
        "evaluation_target": target if isinstance(target, str) else record.task_type,
        "quality_improvement": record.quality_improvement,
        "issues_found": record.issues_count,
        "fixes_applied": int(fixes) if fixes is not None else 0,
        "time_elapsed_minutes": minutes,
        "success_rate": _success_rate(record),
        "pass": record.passed,
        "auto_generated": record.auto_generated,
    }


def old_recent_performance_records(*, now: datetime) -> dict[str, Any]:
    """``GET /api/recent-performance-records`` without ``days``: the old tool's response.

    The RECENT_RECORDS_LIMIT newest of all records; ``task_type_stats`` and the AUTO/manual
    counts are over the records shown (as the old tool counted its merged list), keyed by the
    task type as the source wrote it; ``total_records`` counts every record.
    """
    found, total = newest_of_all(limit=RECENT_RECORDS_LIMIT)
    rows = [old_record(record) for record in found]
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = stats.setdefault(row["task_type"], {"count": 0, "_score": 0.0, "_success": 0.0})
        group["count"] += 1
        group["_score"] += row["overall_score"]
        group["_success"] += row["success_rate"]
    task_type_stats = {
        key: {
            "count": group["count"],
            "avg_score": round(group["_score"] / group["count"], 1),
            "success_rate": round(group["_success"] / group["count"], 1),
        }
        for key, group in stats.items()
    }
    auto = sum(1 for row in rows if row["auto_generated"])
    return {
        "records": rows,
        "total_records": total,
        "showing_records": len(rows),
        "task_type_stats": task_type_stats,
        "auto_generated_count": auto,
        "manual_assessment_count": len(rows) - auto,
        "last_updated": now.isoformat(),
    }
