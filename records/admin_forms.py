"""The admin's add and change form for a task record: the task as a person enters it.

The form only collects text and turns it into the same ``task_data`` mapping the Python API, the
HTTP API and the CLI receive; ``records.recording.schema.clean_task_data`` validates it (one
validator for every door) and the admin hands the result to ``record_create`` or
``record_update``, which score, classify and keep the rollups exact. Nothing here writes.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import ValidationError

from records.models import Complexity, TaskRecord
from records.recording.schema import Task, clean_task_data, given_scores, stored_context
from records.rules.scoring import code_quality_component

# Form field -> the task_data key it fills (the names the recorder's API documents).
TASK_KEYS = {
    "task_label": "task_type",
    "description": "description",
    "complexity": "complexity",
    "model_name": "model_used",
    "duration_seconds": "duration_seconds",
    "success": "success",
    "skill_names": "skills_used",
    "agent_names": "agents_delegated",
    "files_modified": "files_modified",
    "lines_changed": "lines_changed",
    "issues": "issues_found",
    "recommendations": "recommendations",
    "best_practices_followed": "best_practices_followed",
    "documentation_updated": "documentation_updated",
    "explicit_quality": "quality_score",
    "code_quality": "code_quality",
    "quality_improvement": "quality_improvement",
    "given_performance_index": "performance_index",
    "given_time_efficiency": "time_efficiency",
    "recorded_at": "recorded_at",
    "auto_generated": "auto_generated",
}
# The validator's other names for the same inputs, so each of its messages lands on a field.
FIELD_OF_KEY = {key: name for name, key in TASK_KEYS.items()} | {
    "overall_score": "explicit_quality",
    "duration": "duration_seconds",
}
TASK_FIELDS = tuple(TASK_KEYS)
_COUNT_ONLY = re.compile(r"\d+")


def split_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _given_improvement(record: TaskRecord) -> bool:
    """Whether the stored improvement was given by a source rather than derived from the type's
    baseline (then the form offers it, else leaves it blank so saving derives it again)."""
    given = (record.score_breakdown or {}).get("given")
    if isinstance(given, list):  # written by the legacy importer
        return "quality_improvement" in given
    return any(
        isinstance(entry, dict)
        and isinstance(entry.get("payload"), dict)
        and entry["payload"].get("quality_improvement") is not None
        for entry in record.raw or []
    )


def initial_from_record(record: TaskRecord) -> dict[str, Any]:
    """The form's values for a stored record: saving them unchanged scores it the same again.

    The scoring inputs that have no column of their own are read back from the score breakdown
    (as the legacy merge does); code quality is offered only when it differs from what the issue
    rule gives, i.e. when a source gave it.
    """
    breakdown = record.score_breakdown or {}
    given = given_scores(breakdown)
    code_quality = breakdown.get("code_quality")
    if code_quality == code_quality_component(record.issues_count):
        code_quality = None
    issues = "\n".join(record.issues or [])
    if not issues and record.issues_count:
        issues = str(record.issues_count)  # the old tool sometimes wrote only a count
    return {
        "task_label": record.task_label,
        "description": record.description,
        "complexity": record.complexity,
        "model_name": record.model.name,
        "duration_seconds": record.duration_seconds,
        "success": record.success,
        "skill_names": ", ".join(record.skills.values_list("name", flat=True)),
        "agent_names": ", ".join(record.agents.values_list("name", flat=True)),
        "files_modified": record.files_modified,
        "lines_changed": record.lines_changed,
        "issues": issues,
        "recommendations": "\n".join(record.recommendations or []),
        "best_practices_followed": breakdown.get("best_practices", 100.0) == 100,
        "documentation_updated": breakdown.get("documentation", 50.0) == 100,
        "explicit_quality": record.quality_score if breakdown.get("manual") else None,
        "code_quality": code_quality,
        "quality_improvement": record.quality_improvement if _given_improvement(record) else None,
        "given_performance_index": (
            record.performance_index if "performance_index" in given else None
        ),
        "given_time_efficiency": record.time_efficiency if "time_efficiency" in given else None,
        # The widget shows whole seconds; an unchanged value is mapped back in clean().
        "recorded_at": record.recorded_at.replace(microsecond=0),
        "auto_generated": record.auto_generated,
    }


class TaskRecordForm(forms.ModelForm):
    """Task inputs only; every stored column is derived from them by the write services."""

    task_label = forms.CharField(
        label="Task type label",
        required=False,
        help_text="As the agent names it, e.g. bug_fix or refactoring. Give this or a "
        "description; the canonical type is derived from both.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    complexity = forms.ChoiceField(
        required=False, choices=[("", "—"), *Complexity.choices], initial=""
    )
    model_name = forms.CharField(
        label="Model", required=False, help_text="Blank: the configured default model."
    )
    duration_seconds = forms.FloatField(label="Duration (seconds)", required=False)
    success = forms.BooleanField(required=False, initial=True)
    skill_names = forms.CharField(
        label="Skills", required=False, help_text="Comma-separated names."
    )
    agent_names = forms.CharField(
        label="Agents delegated", required=False, help_text="Comma-separated names."
    )
    files_modified = forms.IntegerField(required=False)
    lines_changed = forms.IntegerField(required=False)
    issues = forms.CharField(
        label="Issues found",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line (or only a number when just the count is known).",
    )
    recommendations = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line."
    )
    best_practices_followed = forms.BooleanField(required=False, initial=True)
    documentation_updated = forms.BooleanField(required=False, initial=False)
    explicit_quality = forms.FloatField(
        label="Quality score (manual assessment)",
        required=False,
        help_text="Optional: used instead of the scoring formula. Points 0-100; a value "
        "with a fraction part in [0, 1] is a fraction (0.85 is 85 points).",
    )
    code_quality = forms.FloatField(
        required=False,
        help_text="Optional: replaces the issue rule (100 minus 5 per issue). Points 0-100, "
        "or a fraction as for the quality score.",
    )
    quality_improvement = forms.FloatField(
        required=False,
        help_text="Optional: blank derives it from the previous 10 records of the type.",
    )
    given_performance_index = forms.FloatField(
        label="Performance index (as given)",
        required=False,
        help_text="Optional: the source's own figure, kept as given. Blank: the formula.",
    )
    given_time_efficiency = forms.FloatField(
        label="Time efficiency (as given)",
        required=False,
        help_text="Optional: the source's own figure, kept as given. Blank: from the duration.",
    )
    recorded_at = forms.SplitDateTimeField(
        required=False,
        widget=admin_widgets.AdminSplitDateTime,
        help_text="Blank: now (a new record) or unchanged (a stored one).",
    )
    auto_generated = forms.BooleanField(
        required=False, initial=False, help_text="Recorded by an agent rather than by a person."
    )

    class Meta:
        model = TaskRecord
        fields: list[str] = []  # no model field is written from the form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Replaces ModelForm's model_to_dict values (lists, ids) with the task's text form.
            self.initial.update(initial_from_record(self.instance))
        self.task: Task | None = None
        self.task_data: dict[str, Any] = {}

    def task_data_from(self, data: dict[str, Any]) -> dict[str, Any]:
        """The cleaned form values as the recorder's task_data (None: not given)."""
        values = {name: data.get(name) for name in TASK_FIELDS}
        for name in ("task_label", "description", "complexity", "model_name"):
            values[name] = values[name] or None
        values["skill_names"] = split_names(values["skill_names"] or "")
        values["agent_names"] = split_names(values["agent_names"] or "")
        values["recommendations"] = split_lines(values["recommendations"] or "")
        issues = (values["issues"] or "").strip()
        values["issues"] = int(issues) if _COUNT_ONLY.fullmatch(issues) else split_lines(issues)
        when, stored = values["recorded_at"], self.instance.recorded_at
        if when is not None and stored is not None and when == stored.replace(microsecond=0):
            when = stored  # left as shown: keep the stored fraction of a second
        values["recorded_at"] = None if when is None else when.isoformat()
        for name in (
            "explicit_quality",
            "code_quality",
            "given_performance_index",
            "given_time_efficiency",
        ):
            # A form has no int/float distinction: a whole number typed is points, as in JSON.
            if isinstance(values[name], float) and values[name].is_integer():
                values[name] = int(values[name])
        task_data = {TASK_KEYS[name]: value for name, value in values.items() if value is not None}
        if self.instance.pk is not None:
            # Session, project, branch, tokens and a given cost are not on the form: kept.
            context = stored_context(self.instance)
            task_data |= {name: value for name, value in context.items() if value is not None}
            # The source's own score breakdown is not on the form either: kept.
            source = (self.instance.score_breakdown or {}).get("source")
            if "breakdown" in given_scores(self.instance.score_breakdown) and source:
                task_data["breakdown"] = source
        return task_data

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if set(TASK_FIELDS) - data.keys():
            return data  # a field failed its own parsing; that error is already shown
        self.task_data = self.task_data_from(data)
        try:
            self.task = clean_task_data(self.task_data)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(FIELD_OF_KEY.get(key), messages)
        return data

    def _post_clean(self) -> None:
        """No instance is built from the form: ``record_create``/``record_update`` write it."""
