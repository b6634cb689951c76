"""Merging what several sources say about one record, and turning it into stored fields.

Pure functions. A ``Draft`` holds what is known about one identity: ``None`` (or an empty list)
is a gap. The first source to give a value wins; later sources only fill gaps. ``finalise`` turns
a draft into TaskRecord field values with the classification, names and scoring contract applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from records.importer.normalise import LegacyTask
from records.recording.schema import (
    GIVEN_FLAGS,
    TASK_FIELDS,
    Task,
    given_scores,
    stored_context,
    stored_fields,
)
from records.rules.names import UNKNOWN_MODEL

# Fields a later source may fill when the earlier ones left them empty (the id is the identity).
MERGED_FIELDS = tuple(name for name in TASK_FIELDS if name != "record_id")


@dataclass
class Draft(Task):
    # The quality_improvement stored when it was derived (not given); kept until recomputed.
    derived_improvement: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _is_gap(value: Any) -> bool:
    return value is None or value == [] or value == "" or value == {}


def draft_from_task(task: LegacyTask) -> Draft:
    return Draft(**{name: getattr(task, name) for name in MERGED_FIELDS})


def fill_gaps(draft: Draft, task: LegacyTask) -> list[str]:
    """Fill the draft's gaps from ``task``; return the names of the fields filled."""
    filled = []
    for name in MERGED_FIELDS:
        new = getattr(task, name)
        if _is_gap(getattr(draft, name)) and not _is_gap(new):
            if name == "issues_count" and draft.issues:
                continue  # the list already says how many
            setattr(draft, name, new)
            filled.append(name)
    if "issues" in filled and not draft.issues_count:
        draft.issues_count = len(draft.issues or [])
    return filled


def draft_from_record(record, *, skills: list[str], agents: list[str]) -> Draft:
    """What a stored record already says, with its gaps (empty values) left as gaps.

    Records the importer wrote list in ``score_breakdown["given"]`` which scoring inputs a source
    actually gave; for any other record every stored value counts as given.
    """
    breakdown = record.score_breakdown or {}
    given = set(breakdown.get("given", GIVEN_FLAGS))

    def if_given(name: str, value: Any) -> Any:
        return value if name in given else None

    component = breakdown.get
    scores_given = given_scores(breakdown)
    source_breakdown = breakdown.get("source") if "breakdown" in scores_given else None
    return Draft(
        recorded_at=record.recorded_at,
        task_label=record.task_label or None,
        description=record.description or None,
        complexity=record.complexity or None,
        model=None if record.model.name == UNKNOWN_MODEL else record.model.name,
        duration_seconds=record.duration_seconds,
        success=if_given("success", record.success),
        skills=skills or None,
        agents=agents or None,
        files_modified=record.files_modified,
        lines_changed=record.lines_changed,
        issues=list(record.issues) or None,
        issues_count=record.issues_count or None,
        recommendations=list(record.recommendations) or None,
        code_quality=if_given("code_quality", component("code_quality")),
        explicit_quality=record.quality_score if breakdown.get("manual") else None,
        best_practices_followed=if_given(
            "best_practices_followed",
            None if component("best_practices") is None else component("best_practices") == 100,
        ),
        documentation_updated=if_given(
            "documentation_updated",
            None if component("documentation") is None else component("documentation") == 100,
        ),
        quality_improvement=if_given("quality_improvement", record.quality_improvement),
        time_efficiency=record.time_efficiency if "time_efficiency" in scores_given else None,
        performance_index=(
            record.performance_index if "performance_index" in scores_given else None
        ),
        breakdown=dict(source_breakdown) if source_breakdown else None,
        auto_generated=if_given("auto_generated", record.auto_generated),
        derived_improvement=None if "quality_improvement" in given else record.quality_improvement,
        **stored_context(record),
    )


def finalise(draft: Draft) -> dict[str, Any]:
    """Stored field values for a draft (``recorded_at`` must be known)."""
    assert draft.recorded_at is not None
    improvement = draft.quality_improvement
    if improvement is None:
        improvement = draft.derived_improvement
    return {
        "recorded_at": draft.recorded_at,
        **stored_fields(draft, auto_default=False),
        "quality_improvement": improvement,
    }


def model_name(draft: Draft) -> str:
    return draft.model or UNKNOWN_MODEL
