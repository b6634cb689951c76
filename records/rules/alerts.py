"""Alert rules' arithmetic: a window's figures, the metric a rule watches, and whether a value
breaks the rule. Pure: no database, no settings (records/alerts/ reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass

from records.rules.scoring import PASS_THRESHOLD

PASS_RATE = "pass_rate"
MEAN_QUALITY = "mean_quality"
MEAN_PERFORMANCE = "mean_performance"
COST_PER_TASK = "cost_per_task"
FAILED_TASKS = "failed_tasks"
METRICS = (PASS_RATE, MEAN_QUALITY, MEAN_PERFORMANCE, COST_PER_TASK, FAILED_TASKS)
# Which way is worse, for a "drop": lower pass rate, quality and performance; more cost per task
# and more failed tasks.
HIGHER_IS_WORSE = frozenset({COST_PER_TASK, FAILED_TASKS})
METRIC_LABELS = {
    PASS_RATE: "pass rate",
    MEAN_QUALITY: "mean quality",
    MEAN_PERFORMANCE: "mean performance index",
    COST_PER_TASK: "cost per task",
    FAILED_TASKS: "failed tasks",
}

BELOW, ABOVE, DROP = "below", "above", "drop"
CONDITIONS = (BELOW, ABOVE, DROP)


@dataclass(frozen=True)
class Figures:
    """The sums of a window's tasks that every metric is computed from."""

    count: int = 0
    success_count: int = 0
    pass_count: int = 0
    quality_sum: float = 0.0
    performance_sum: float = 0.0
    cost_sum: float = 0.0
    cost_count: int = 0

    @classmethod
    def of_rows(cls, rows: list[tuple[bool, float, float, float | None]]) -> Figures:
        """From (success, quality_score, performance_index, cost_usd) per task."""
        costs = [cost for *_, cost in rows if cost is not None]
        return cls(
            count=len(rows),
            success_count=sum(1 for success, *_ in rows if success),
            pass_count=sum(1 for _, quality, *_ in rows if quality >= PASS_THRESHOLD),
            quality_sum=sum(quality for _, quality, *_ in rows),
            performance_sum=sum(performance for _, _, performance, _ in rows),
            cost_sum=sum(costs),
            cost_count=len(costs),
        )


def metric_value(figures: Figures, metric: str) -> float | None:
    """The metric of a window; None when it has no value (no tasks, or no task with a cost)."""
    if metric == FAILED_TASKS:
        return float(figures.count - figures.success_count)
    if metric == COST_PER_TASK:
        return figures.cost_sum / figures.cost_count if figures.cost_count else None
    if not figures.count:
        return None
    if metric == PASS_RATE:
        return 100 * figures.pass_count / figures.count
    if metric == MEAN_QUALITY:
        return figures.quality_sum / figures.count
    if metric == MEAN_PERFORMANCE:
        return figures.performance_sum / figures.count
    raise ValueError(f"Unknown metric {metric!r}; use one of {', '.join(METRICS)}.")


def change_for_the_worse(metric: str, current: float, previous: float) -> float:
    """How much worse ``current`` is than ``previous`` (negative when it is better)."""
    return current - previous if metric in HIGHER_IS_WORSE else previous - current


def breaks(
    *,
    metric: str,
    condition: str,
    threshold: float,
    value: float | None,
    count: int,
    min_tasks: int,
    previous_value: float | None = None,
    previous_count: int = 0,
) -> bool | None:
    """Whether the window breaks the rule: True (fire), False (fine), None (too few tasks to
    say, or no value: the rule keeps the state it has)."""
    if count < max(min_tasks, 1) or value is None:
        return None
    if condition == BELOW:
        return value < threshold
    if condition == ABOVE:
        return value > threshold
    if condition == DROP:
        if previous_value is None or previous_count < max(min_tasks, 1):
            return None
        return change_for_the_worse(metric, value, previous_value) >= threshold
    raise ValueError(f"Unknown condition {condition!r}; use one of {', '.join(CONDITIONS)}.")


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if metric == PASS_RATE:
        return f"{value:.1f}%"
    if metric == COST_PER_TASK:
        return f"${value:.4f}" if value < 1 else f"${value:.2f}"
    if metric == FAILED_TASKS:
        return f"{value:.0f}"
    return f"{value:.1f}"
