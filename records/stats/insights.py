"""Which models, skills and agents work best for which task, and whether each is improving.

Pure ranking/trend/sentence functions first, then the selector that feeds them from the rollups
(a fixed number of queries, whatever the history size, and statements of a fixed size whatever
the number of distinct model, skill and agent names: only TOP_MODELS models get a trend read).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import connection
from django.db.models import F

from records.rules.classification import CANONICAL_TYPES
from records.rules.periods import Window
from records.stats.aggregates import Totals, totals
from records.stats.filters import NO_FILTERS, RecordFilters, records_in

MIN_EVIDENCE = 3  # fewer tasks than this is thin evidence: shown, never ranked above solid ones
TREND_WINDOW = 10
TREND_THRESHOLD = 5.0
TOP_NAMES = 3
# How many models a list made for reading shows (heat map columns, model trends, the models
# panel, the model filter's choices): the most used in the view. The rest are summarised as
# "and N more models". It also bounds every per-model statement: a view with 10,000 models reads
# the same as one with TOP_MODELS.
TOP_MODELS = 12

Trend = Literal["improving", "declining", "stable"]


@dataclass(frozen=True)
class Entry:
    """One model, skill or agent on one task type."""

    name: str
    count: int
    avg_score: float
    success_rate: float
    avg_performance: float

    @property
    def thin(self) -> bool:
        return self.count < MIN_EVIDENCE

    def as_summary(self) -> dict:
        return {"name": self.name, "count": self.count, "avg_score": round(self.avg_score, 1)}


def entry_from(name: str, total: Totals) -> Entry:
    return Entry(
        name=name,
        count=total.count,
        avg_score=total.avg_quality or 0.0,
        success_rate=total.success_rate or 0.0,
        avg_performance=total.avg_performance or 0.0,
    )


def rank(entries: Iterable[Entry]) -> list[Entry]:
    """Best first by mean quality; thin evidence after every solid entry; ties by count, name."""
    return sorted(entries, key=lambda e: (e.thin, -e.avg_score, -e.count, e.name))


def trend(scores_oldest_first: Sequence[float]) -> Trend | None:
    """Compare the older and newer half of the latest TREND_WINDOW scores; None below 4 scores."""
    latest = list(scores_oldest_first)[-TREND_WINDOW:]
    half = len(latest) // 2
    if half < 2:
        return None
    older = sum(latest[:half]) / half
    newer = sum(latest[-half:]) / half
    if newer - older > TREND_THRESHOLD:
        return "improving"
    if older - newer > TREND_THRESHOLD:
        return "declining"
    return "stable"


@dataclass(frozen=True)
class TypeInsight:
    task_type: str
    models: list[Entry]
    skills: list[Entry]
    agents: list[Entry]

    @property
    def best_model(self) -> Entry | None:
        return self.models[0] if self.models else None


@dataclass(frozen=True)
class Insights:
    by_type: list[TypeInsight]
    model_trends: dict[str, Trend | None]
    type_trends: dict[str, Trend | None]
    heatmap_models: list[str]  # the TOP_MODELS most used models of the view, by name
    heatmap: dict[str, dict[str, Entry]]  # task type -> shown model -> entry
    recommendations: list[str]
    more_models: int = 0  # models with records in the view beyond heatmap_models

    def summary(self) -> dict:
        """The ``insights`` of get_performance_summary and /api/summary (docs/dashboard.md)."""
        return {
            item.task_type: {
                "best_model": item.best_model.as_summary() if item.best_model else None,
                "best_skills": [e.as_summary() for e in item.skills[:TOP_NAMES]],
                "best_agents": [e.as_summary() for e in item.agents[:TOP_NAMES]],
            }
            for item in self.by_type
        }


def _grouped(rows: list[Totals], name_key: str) -> dict[str, list[Entry]]:
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for row in rows:
        grouped[row.key["task_type"]].append(entry_from(row.key[name_key], row))
    return {task_type: rank(entries) for task_type, entries in grouped.items()}


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


MAX_RECOMMENDATIONS = 8


def recommendations(
    by_type: Sequence[TypeInsight], model_trends: dict[str, Trend | None]
) -> list[str]:
    """Short plain sentences, the most telling first: the widest gaps between the best and the
    weakest well-supported model of a type, then the best skill where it stands out, then models
    on the move. At most MAX_RECOMMENDATIONS."""
    gaps: list[tuple[float, str]] = []
    skills: list[tuple[float, str]] = []
    for item in by_type:
        solid = [e for e in item.models if not e.thin]
        if len(solid) >= 2 and solid[0].avg_score - solid[-1].avg_score >= 1:
            best, worst = solid[0], solid[-1]
            gaps.append(
                (
                    best.avg_score - worst.avg_score,
                    f"For {item.task_type}, {best.name} averages {_fmt(best.avg_score)} over "
                    f"{best.count} tasks; {worst.name} averages {_fmt(worst.avg_score)} over "
                    f"{worst.count}.",
                )
            )
        solid_skills = [e for e in item.skills if not e.thin]
        if len(solid_skills) >= 2:
            top, rest = solid_skills[0], solid_skills[1:]
            lead = top.avg_score - sum(e.avg_score for e in rest) / len(rest)
            skills.append(
                (
                    lead,
                    f"For {item.task_type}, tasks using {top.name} average "
                    f"{_fmt(top.avg_score)} over {top.count} tasks.",
                )
            )
    moving = [
        f"{model} is {direction} over its latest {TREND_WINDOW} tasks."
        for model, direction in sorted(model_trends.items())
        if direction in {"improving", "declining"}
    ]
    lines = [text for _, text in sorted(gaps, key=lambda g: -g[0])[:4]]
    lines += [text for _, text in sorted(skills, key=lambda g: -g[0])[:2]]
    return (lines + moving)[:MAX_RECOMMENDATIONS]


def most_used(counts: Counter[str], limit: int = TOP_MODELS) -> list[str]:
    """The ``limit`` names with the most tasks (ties by name), most used first."""
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


# A UNION ALL with more terms than this fails on SQLite (SQLITE_MAX_COMPOUND_SELECT, 500).
MAX_TREND_GROUPS = max(TOP_MODELS, len(CANONICAL_TYPES))


def _latest_scores(
    window: Window, filters: RecordFilters, field: str, values: Sequence[str]
) -> dict[str, list[float]]:
    """Quality of the latest TREND_WINDOW records per model or per task type, oldest first.

    One query: a UNION ALL of per-group ``LIMIT 10`` reads, each served by the
    (group, recorded_at) index, so the cost does not grow with the history. It takes at most
    MAX_TREND_GROUPS groups (the shown models, or the nine task types), so it does not grow with
    the number of names either. (A ``ROW_NUMBER() OVER (PARTITION BY ...)`` read would be one
    statement of a fixed size too, but it numbers every record of the window: a full scan and
    sort of a million records for "all time".)
    """
    if len(values) > MAX_TREND_GROUPS:
        raise ValueError(f"at most {MAX_TREND_GROUPS} trend groups, got {len(values)}")
    base = records_in(window, filters)
    parts = [
        base.filter(**{field: value})
        .order_by("-recorded_at", "-id")
        .annotate(group=F(field))
        .values_list("group", "recorded_at", "quality_score")[:TREND_WINDOW]
        .query.sql_with_params()
        for value in values
    ]
    if not parts:
        return {}
    # Each part is wrapped as a subquery: SQLite allows no LIMIT on a bare UNION member.
    sql = " UNION ALL ".join(
        f"SELECT * FROM ({part_sql}) AS p{i}" for i, (part_sql, _) in enumerate(parts)
    )
    params = [param for _, part_params in parts for param in part_params]
    scores: dict[str, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for group, recorded_at, quality in cursor.fetchall():
            scores[group].append((recorded_at, quality))
    return {group: [q for _, q in sorted(items)] for group, items in scores.items()}


def task_insights(*, window: Window, filters: RecordFilters = NO_FILTERS) -> Insights:
    """Rankings per task type, trends per model and per task type, a heat map, sentences."""
    by_model = totals(window=window, filters=filters, by=("task_type", "model"))
    by_skill = totals(window=window, filters=filters, by=("task_type", "skill"), subject="skills")
    by_agent = totals(window=window, filters=filters, by=("task_type", "agent"), subject="agents")
    models = _grouped(by_model, "model")
    skills = _grouped(by_skill, "skill")
    agents = _grouped(by_agent, "agent")
    by_type = [
        TypeInsight(
            task_type=task_type,
            models=models.get(task_type, []),
            skills=skills.get(task_type, []),
            agents=agents.get(task_type, []),
        )
        for task_type in CANONICAL_TYPES
        if task_type in models
    ]
    tasks_per_model: Counter[str] = Counter()
    for row in by_model:
        tasks_per_model[row.key["model"]] += row.count
    shown = sorted(most_used(tasks_per_model))
    type_names = [t for t in CANONICAL_TYPES if t in models]
    model_trends = {
        name: trend(scores)
        for name, scores in _latest_scores(window, filters, "model__name", shown).items()
    }
    type_trends = {
        name: trend(scores)
        for name, scores in _latest_scores(window, filters, "task_type", type_names).items()
    }
    shown_set = set(shown)
    heatmap = {
        item.task_type: {entry.name: entry for entry in item.models if entry.name in shown_set}
        for item in by_type
    }
    return Insights(
        by_type=by_type,
        model_trends=model_trends,
        type_trends=type_trends,
        heatmap_models=shown,
        heatmap=heatmap,
        recommendations=recommendations(by_type, model_trends),
        more_models=len(tasks_per_model) - len(shown),
    )
