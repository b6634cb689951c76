"""The record detail page's values, prepared for printing (the template only loops)."""

from __future__ import annotations

import json
from typing import Any

from dashboard.panels import (
    MINUS,
    fmt_duration,
    fmt_number,
    iso_utc,
    page_url_for,
    score_tone,
    utc_text,
)
from records.models import TaskRecord

DASH = "—"


def _text(value: Any) -> str:
    """A list item from JSON: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _yes_no(value: bool | None) -> str:
    return DASH if value is None else ("yes" if value else "no")


def _signed(value: float | None) -> str:
    return DASH if value is None else f"{value:+.1f}".replace("-", MINUS)


def record_detail_context(record: TaskRecord) -> dict[str, Any]:
    breakdown = record.score_breakdown if isinstance(record.score_breakdown, dict) else {}
    raw = record.raw if isinstance(record.raw, list) else [record.raw]
    return {
        "record": record,
        "iso": iso_utc(record.recorded_at),
        "time_text": utc_text(record.recorded_at),
        "created_iso": iso_utc(record.created_at),
        "created_text": utc_text(record.created_at),
        "scores": [
            ("Quality score", fmt_number(record.quality_score), score_tone(record.quality_score)),
            (
                "Performance index",
                fmt_number(record.performance_index),
                score_tone(record.performance_index),
            ),
            (
                "Time efficiency",
                fmt_number(record.time_efficiency),
                score_tone(record.time_efficiency),
            ),
            ("Quality improvement", _signed(record.quality_improvement), "none"),
        ],
        "facts": [
            ("Task type", record.task_type),
            ("Task label (as given)", record.task_label or DASH),
            ("Complexity", record.complexity or DASH),
            ("Model", record.model.name),
            ("Success", _yes_no(record.success)),
            ("Pass (quality ≥ 70)", _yes_no(record.passed)),
            ("Recorded", "automatically (AUTO)" if record.auto_generated else "manually"),
            ("Source", record.source or DASH),
            ("Duration", fmt_duration(record.duration_seconds)),
            (
                "Duration (seconds)",
                DASH if record.duration_seconds is None else f"{record.duration_seconds:g}",
            ),
            ("Files modified", DASH if record.files_modified is None else record.files_modified),
            ("Lines changed", DASH if record.lines_changed is None else record.lines_changed),
            ("Issues found", record.issues_count),
        ],
        "breakdown": [(key, _text(value)) for key, value in sorted(breakdown.items())],
        "skills": [s.name for s in record.skills.all()],
        "agents": [a.name for a in record.agents.all()],
        "issues": [_text(i) for i in record.issues] if isinstance(record.issues, list) else [],
        "recommendations": [_text(r) for r in record.recommendations]
        if isinstance(record.recommendations, list)
        else [],
        "payloads": [
            {
                "source": item.get("source", DASH) if isinstance(item, dict) else DASH,
                "json": _pretty(item.get("payload") if isinstance(item, dict) else item),
            }
            for item in raw
        ],
        "type_href": page_url_for(task_type=record.task_type),
        "model_href": page_url_for(model=record.model.name),
    }
