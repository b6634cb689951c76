"""The record detail page's values, prepared for printing (the template only loops)."""

from __future__ import annotations

from typing import Any

from dashboard.formatting import (
    DASH,
    fmt_cost,
    fmt_duration,
    fmt_exact,
    fmt_number,
    fmt_signed,
    fmt_tokens,
    iso_utc,
    json_inline,
    json_list,
    json_pretty,
    or_dash,
    score_tone,
    utc_text,
    yes_no,
)
from dashboard.links import page_url_for, record_url
from records.models import TaskRecord
from records.recording.schema import BREAKDOWN_META, given_scores
from records.rules.scoring import PASS_THRESHOLD

GIVEN_TEXT = "given by the source"
COMPUTED_TEXT = "computed by Perfsite"


def _origin(name: str, value: float | None, given: set[str]) -> str:
    """How a stored score came to be, as the record page says it ("" when there is none)."""
    if value is None:
        return ""
    return GIVEN_TEXT if name in given else COMPUTED_TEXT


def _scores(record: TaskRecord, given: set[str]) -> list[dict[str, str]]:
    rows = [
        ("quality_score", "Quality score", record.quality_score, fmt_exact, True),
        ("performance_index", "Performance index", record.performance_index, fmt_exact, True),
        ("time_efficiency", "Time efficiency", record.time_efficiency, fmt_exact, True),
        ("quality_improvement", "Quality improvement", record.quality_improvement, None, False),
    ]
    return [
        {
            "key": key,
            "label": label,
            "value": fmt(value) if fmt else fmt_signed(value),
            "tone": score_tone(value) if toned else "none",
            "origin": _origin(key, value, given),
            "given": key in given,
        }
        for key, label, value, fmt, toned in rows
    ]


def _breakdowns(breakdown: dict, given: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The source's own breakdown (when it gave one) and the formula's components (when the
    formula computed the quality); internal flags are neither."""
    source = breakdown.get("source") if "breakdown" in given else None
    components = [
        (key, json_inline(value))
        for key, value in sorted(breakdown.items())
        if key not in BREAKDOWN_META
    ]
    return {
        "source": [(key, json_inline(value)) for key, value in source.items()]
        if isinstance(source, dict)
        else [],
        "formula": [] if "quality_score" in given else components,
    }


def _cost_text(record: TaskRecord) -> str:
    if record.cost_usd is None:
        return DASH
    if record.cost_source == "given":
        return f"{fmt_cost(record.cost_usd)} (given)"
    return f"{fmt_cost(record.cost_usd)} (from tokens, {record.cost_source})"


def record_detail_context(record: TaskRecord, *, session: list[TaskRecord]) -> dict[str, Any]:
    """The record page; ``session`` is the record's session, its other turns included."""
    breakdown = record.score_breakdown if isinstance(record.score_breakdown, dict) else {}
    raw = record.raw if isinstance(record.raw, list) else [record.raw]
    given = given_scores(breakdown)
    return {
        "record": record,
        "iso": iso_utc(record.recorded_at),
        "time_text": utc_text(record.recorded_at),
        "created_iso": iso_utc(record.created_at),
        "created_text": utc_text(record.created_at),
        "scores": _scores(record, given),
        "facts": [
            ("Task type", record.task_type),
            ("Task label (as given)", or_dash(record.task_label)),
            ("Complexity", or_dash(record.complexity)),
            ("Model", record.model.name),
            ("Success", yes_no(record.success)),
            (f"Pass (quality ≥ {PASS_THRESHOLD:.0f})", yes_no(record.passed)),
            ("Recorded", "automatically (AUTO)" if record.auto_generated else "manually"),
            ("Source", or_dash(record.source)),
            ("Duration", fmt_duration(record.duration_seconds)),
            (
                "Duration (seconds)",
                DASH if record.duration_seconds is None else f"{record.duration_seconds:g}",
            ),
            ("Files modified", or_dash(record.files_modified)),
            ("Lines changed", or_dash(record.lines_changed)),
            ("Issues found", record.issues_count),
            ("Project", or_dash(record.project)),
            ("Git branch", or_dash(record.git_branch)),
            ("Session", or_dash(record.session_id)),
            ("Input tokens", fmt_tokens(record.input_tokens)),
            ("Output tokens", fmt_tokens(record.output_tokens)),
            ("Cache read tokens", fmt_tokens(record.cache_read_tokens)),
            ("Cache creation tokens", fmt_tokens(record.cache_creation_tokens)),
            ("Cost", _cost_text(record)),
        ],
        "session": [
            {
                "record_id": turn.record_id,
                "href": record_url(turn.record_id),
                "iso": iso_utc(turn.recorded_at),
                "time_text": utc_text(turn.recorded_at),
                "description": turn.description or turn.task_label or turn.task_type,
                "quality": fmt_number(turn.quality_score),
                "tone": score_tone(turn.quality_score),
                "cost": fmt_cost(turn.cost_usd),
                "current": turn.pk == record.pk,
            }
            for turn in session
        ],
        "breakdown": _breakdowns(breakdown, given),
        "quality_given": "quality_score" in given,
        "skills": [s.name for s in record.skills.all()],
        "agents": [a.name for a in record.agents.all()],
        "issues": json_list(record.issues),
        "recommendations": json_list(record.recommendations),
        "payloads": [
            {
                "source": item.get("source", DASH) if isinstance(item, dict) else DASH,
                "json": json_pretty(item.get("payload") if isinstance(item, dict) else item),
            }
            for item in raw
        ],
        "type_href": page_url_for(task_type=record.task_type),
        "model_href": page_url_for(model=record.model.name),
    }
