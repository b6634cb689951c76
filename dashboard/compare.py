"""The compare page's values: two slices side by side, per task type and overall.

``compare_context`` takes the view (``DashboardQuery``: period and filters) and the parsed
``Sides``; it reads each side with ``selectors.slice_totals`` (rollups only, a fixed number of
queries whatever the number of records) and lets ``verdicts`` say what the numbers mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dashboard import selectors as sel
from dashboard.forms import ORIGIN_LABELS, PERIOD_LABELS, DashboardQuery
from dashboard.links import compare_url, page_url
from dashboard.slices import KINDS, Scope, Sides, Slice
from dashboard.verdicts import Difference, compare_totals
from records.models import TASK_TYPE_CHOICES
from records.rules.classification import CANONICAL_TYPES
from records.rules.confidence import MIN_TASKS
from records.rules.periods import PERIODS
from records.stats.aggregates import Totals

EXAMPLES = (
    ("Two models", "model:GLM 4.6", "model:Claude Sonnet 4.5"),
    ("This week against the one before", "period:7d", "period:prev7d"),
    ("Two explicit date ranges", "period:2026-11-01..2026-11-07", "period:2026-11-08..2026-11-14"),
    ("A skill used or not", "skill:code-analysis", "noskill:code-analysis"),
    ("Turns given Perfsite's advice or not", "advised:yes", "advised:no"),
)


@dataclass(frozen=True)
class Group:
    """One task type (``key``), or every type (``key`` "" for the overall rows)."""

    key: str
    label: str
    count_a: int
    count_b: int
    metrics: list[Difference]

    @property
    def clear(self) -> list[Difference]:
        return [m for m in self.metrics if m.clear]


def _overall(rows: dict[str, Totals]) -> Totals:
    total = Totals(key={})
    for part in rows.values():
        total.merge(part)
    return total


def compare_groups(
    a: Slice, b: Slice, a_rows: dict[str, Totals], b_rows: dict[str, Totals]
) -> list[Group]:
    """The overall group, then each canonical type that has records on either side."""
    groups = [
        Group(
            key="",
            label="All task types",
            count_a=sum(t.count for t in a_rows.values()),
            count_b=sum(t.count for t in b_rows.values()),
            metrics=compare_totals(_overall(a_rows), _overall(b_rows), a=a, b=b),
        )
    ]
    for task_type in CANONICAL_TYPES:
        if task_type not in a_rows and task_type not in b_rows:
            continue
        ta = a_rows.get(task_type, Totals(key={}))
        tb = b_rows.get(task_type, Totals(key={}))
        groups.append(
            Group(
                key=task_type,
                label=task_type.capitalize(),
                count_a=ta.count,
                count_b=tb.count,
                metrics=compare_totals(ta, tb, a=a, b=b, task_type=task_type),
            )
        )
    return groups


def side_scope(side: Slice, query: DashboardQuery) -> Scope:
    return side.narrow(Scope(window=query.window, filters=query.filters))


def _form(
    query: DashboardQuery, sides: Sides, *, model_names: list[str], project_names: list[str]
) -> dict[str, Any]:
    suggestions = [f"model:{name}" for name in model_names]
    suggestions += [f"project:{name}" for name in project_names]
    suggestions += [f"period:{key}" for key in PERIODS]
    suggestions += [f"period:prev{key}" for key in PERIODS if key != "all"]
    return {
        "a": sides.given.get("a", ""),
        "b": sides.given.get("b", ""),
        "errors": sides.errors,
        "suggestions": suggestions,
        "kinds": [kind.syntax for kind in KINDS.values()],
        "periods": [
            {"value": key, "label": PERIOD_LABELS[key], "selected": key == query.period}
            for key in PERIODS
        ],
        "task_types": [
            {"value": key, "label": label, "selected": key == query.filters.task_type}
            for key, label in TASK_TYPE_CHOICES
        ],
        "origins": [
            {"value": key, "label": label, "selected": key == query.filters.origin}
            for key, label in ORIGIN_LABELS.items()
        ],
        "hidden": sorted(
            (name, value)
            for name, value in query.params().items()
            if name in {"model", "project"}  # filters the form has no field for
        ),
    }


def compare_context(
    query: DashboardQuery,
    sides: Sides,
    *,
    model_names: Sequence[str],
    project_names: Sequence[str] = (),
) -> dict[str, Any]:
    """``model_names``, ``project_names``: the names the slice fields suggest."""
    context: dict[str, Any] = {
        "query": query,
        "form": _form(
            query, sides, model_names=list(model_names), project_names=list(project_names)
        ),
        "ready": sides.ready,
        "examples": [
            {"label": label, "a": a, "b": b, "href": compare_url(query, a=a, b=b)}
            for label, a, b in EXAMPLES
        ],
        "dashboard_href": page_url(query),
        "min_tasks": MIN_TASKS,
    }
    if not sides.ready:
        return context
    a, b = sides.a, sides.b
    scope_a, scope_b = side_scope(a, query), side_scope(b, query)
    a_rows = sel.slice_totals(
        window=scope_a.window,
        filters=scope_a.filters,
        skill=scope_a.skill,
        skill_present=scope_a.skill_present,
        advised=scope_a.advised,
    )
    b_rows = sel.slice_totals(
        window=scope_b.window,
        filters=scope_b.filters,
        skill=scope_b.skill,
        skill_present=scope_b.skill_present,
        advised=scope_b.advised,
    )
    groups = compare_groups(a, b, a_rows, b_rows)
    period = (
        ""
        if a.sets_period and b.sets_period
        else f"last {PERIOD_LABELS[query.period].lower()}"
        if query.period != "all"
        else "all time"
    )
    context.update(
        a=a,
        b=b,
        swap_href=compare_url(query, a=b.text, b=a.text),
        period_text=period,
        filters_text=_filters_text(query, a, b),
        groups=groups,
        clear=[(group, metric) for group in groups for metric in group.clear],
    )
    return context


def _filters_text(query: DashboardQuery, a: Slice, b: Slice) -> str:
    """The view's filters both sides share, e.g. "task type debugging · source auto"."""
    parts = []
    filters = query.filters
    if filters.model and "model" not in {a.kind, b.kind}:
        parts.append(f"model {filters.model}")
    if filters.task_type:
        parts.append(f"task type {filters.task_type}")
    if filters.origin:
        parts.append(f"source {filters.origin}")
    if filters.project and "project" not in {a.kind, b.kind}:
        parts.append(f"project {filters.project}")
    return " · ".join(parts)
