"""What Perfsite advises for the next task of a type: the one selector behind
``GET /api/recommendations``, the Claude Code plugin's advice, and (through the same
``type_insights`` ranking) the insights panel and ``performance_summary``'s insights.

For a task type, optionally one project and one model, over the last ``DEFAULT_DAYS`` days: the
best model, skills and agents with their evidence (tasks, pass rate with its 95% Wilson
interval, mean quality with its interval and the lower bound the ranking uses), and warnings
where a model passes the type clearly less often than the best one (Newcombe's interval of the
two pass rates excludes zero and both have ``MIN_TASKS``). Only solid entries with ``MIN_TASKS``
tasks are advised (``advisable``); with fewer than ``MIN_TASKS`` tasks of the type, or no such
entry, the answer says "not enough data" and advises nothing (docs/dashboard.md#recommendations).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from records.rules.confidence import MIN_TASKS, clear_difference, rate_difference
from records.rules.periods import Window
from records.stats.filters import NO_FILTERS, RecordFilters
from records.stats.insights import Entry, TypeInsight, type_insights

DEFAULT_DAYS = 90  # long enough to gather evidence, short enough to follow model updates
MAX_WARNINGS = 3


def _pct(value: float) -> str:
    return f"{value:.0f}%"


@dataclass(frozen=True)
class Recommendation:
    task_type: str
    window: Window
    filters: RecordFilters
    tasks: int  # tasks of the type in the window (with the filters)
    best_model: Entry | None = None
    skills: list[Entry] = field(default_factory=list)
    agents: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def enough(self) -> bool:
        """Whether there is anything to advise: MIN_TASKS tasks and a solid entry."""
        return self.tasks >= MIN_TASKS and bool(self.best_model or self.skills or self.agents)

    @property
    def note(self) -> str | None:
        if self.enough:
            return None
        return (
            f"Not enough data: {self.tasks} {self.task_type} task{'s' if self.tasks != 1 else ''}"
            f" in this view; advice needs a model, skill or agent with at least {MIN_TASKS}."
        )

    def lines(self) -> list[str]:
        """Short sentences for an agent's context (the plugin shows these); empty when thin."""
        if not self.enough:
            return []
        where = f" in {self.filters.project}" if self.filters.project else ""
        lines = [f"Perfsite, from {self.tasks} {self.task_type} tasks{where}:"]
        for kind, entries in (("skill", self.skills), ("agent", self.agents)):
            lines += [f"- {kind} {e.name}: {_evidence(e)}" for e in entries]
        if self.best_model is not None:
            lines.append(f"- best model {self.best_model.name}: {_evidence(self.best_model)}")
        lines += [f"- {text}" for text in self.warnings]
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type,
            "project": self.filters.project,
            "model": self.filters.model,
            "period_start": self.window.start.isoformat(),
            "period_end": self.window.end.isoformat(),
            "tasks": self.tasks,
            "enough_data": self.enough,
            "note": self.note,
            "best_model": _entry_json(self.best_model) if self.best_model else None,
            "skills": [_entry_json(e) for e in self.skills],
            "agents": [_entry_json(e) for e in self.agents],
            "warnings": self.warnings,
            "advice": self.lines(),
        }


def _evidence(entry: Entry) -> str:
    return (
        f"passed {_pct(entry.pass_rate)} of {entry.count} tasks, mean quality {entry.avg_score:.0f}"
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _entry_json(entry: Entry) -> dict[str, Any]:
    interval = entry.pass_interval
    return {
        "name": entry.name,
        "tasks": entry.count,
        "pass_rate": _round(entry.pass_rate),
        "pass_rate_interval": None
        if interval is None
        else [_round(interval.low), _round(interval.high)],
        "avg_score": _round(entry.avg_score),
        "score_interval": None
        if entry.score_low is None
        else [_round(entry.score_low), _round(entry.score_high)],
        "rank_bound": _round(entry.rank_bound),
        "success_rate": _round(entry.success_rate),
    }


def warnings(item: TypeInsight) -> list[str]:
    """Solid models that pass the type clearly less often than the best one, widest gap first:
    "GLM 4.6 passes debugging 25 points less often than Claude Sonnet 4.5, 140 vs 96 tasks"."""
    best = item.best_model
    if best is None or not best.solid:
        return []
    others = [e for e in item.models.leaders[1:] if e.solid]
    weakest = item.models.weakest_solid
    if weakest is not None and weakest.name not in {e.name for e in others} | {best.name}:
        others.append(weakest)
    found = []
    for other in others:
        gap = rate_difference(best.pass_count, best.count, other.pass_count, other.count)
        if gap is None or gap.estimate <= 0 or not clear_difference(gap, best.count, other.count):
            continue
        found.append(
            (
                -gap.estimate,
                f"{other.name} passes {item.task_type} {100 * gap.estimate:.0f} points less "
                f"often than {best.name}, {other.count} vs {best.count} tasks",
            )
        )
    return [text for _, text in sorted(found)[:MAX_WARNINGS]]


def recommendation(
    *, task_type: str, window: Window, filters: RecordFilters = NO_FILTERS
) -> Recommendation:
    """The advice for ``task_type`` in ``window`` under ``filters`` (project, model): three
    rollup reads, whatever the number of records."""
    filters = replace(filters, task_type=task_type)
    found = type_insights(window=window, filters=filters)
    item = next((each for each in found if each.task_type == task_type), None)
    if item is None:
        return Recommendation(task_type=task_type, window=window, filters=filters, tasks=0)
    best = item.best_model
    return Recommendation(
        task_type=task_type,
        window=window,
        filters=filters,
        tasks=item.tasks,
        best_model=best if best is not None and advisable(best) else None,
        skills=[e for e in item.skills.leaders if advisable(e)],
        agents=[e for e in item.agents.leaders if advisable(e)],
        warnings=warnings(item),
    )


def advisable(entry: Entry) -> bool:
    """Solid (a real name, ranked among the solid entries) with MIN_TASKS tasks: the evidence
    a difference needs before it is stated, so advice is never built on two or three tasks."""
    return entry.solid and entry.count >= MIN_TASKS
