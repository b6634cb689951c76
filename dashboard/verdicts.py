"""What a comparison of two sides says, per metric: both values, the difference with its 95%
confidence interval, and a plain sentence ("GLM 4.6 passes debugging 12.0 points less often
than Claude Sonnet 4.5, 95% CI 4.0 to 20.0, 140 vs 96 tasks", the range with an en dash) or
"Not enough data: …".

Pure: works from two ``Totals`` (counts, sums, sums of squares) and the sides' names. The
intervals are records.rules.confidence's: Newcombe's hybrid score interval for the pass rate,
Welch's t for the means (docs/statistics.md#compare).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dashboard.formatting import DASH, MINUS, fmt_cost, fmt_duration, fmt_percent
from records.rules.confidence import (
    MIN_TASKS,
    Interval,
    clear_difference,
    mean_difference,
    rate_difference,
)
from records.stats.aggregates import Totals

EN_DASH = "\u2013"


class Side(Protocol):
    subject: str  # "GLM 4.6", "tasks of the last 7 days"
    plural: bool


@dataclass(frozen=True)
class MetricSpec:
    key: str  # pass_rate, quality, performance, duration, cost (the page's data-metric)
    label: str
    noun: str  # what is counted: "tasks", "timed tasks", "priced tasks"
    higher_is_better: bool
    value: Callable[[Totals], float | None]  # the side's figure, in display units
    count: Callable[[Totals], int]  # how many records the figure is of
    magnitude: Callable[[float], str]  # an unsigned amount: "12.0", "1m 05s", "$0.0120"
    unit: str  # after a points amount ("points"); "" for durations and costs


def _points(value: float) -> str:
    return f"{value:.1f}"


def _mean(metric: str) -> Callable[[Totals], float | None]:
    return lambda totals: totals.sample(metric).mean


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "pass_rate",
        "Pass rate",
        "tasks",
        True,
        lambda t: t.pass_rate,
        lambda t: t.count,
        _points,
        "points",
    ),
    MetricSpec(
        "quality",
        "Mean quality",
        "tasks",
        True,
        _mean("quality"),
        lambda t: t.count,
        _points,
        "points",
    ),
    MetricSpec(
        "performance",
        "Performance index",
        "tasks",
        True,
        _mean("performance"),
        lambda t: t.count,
        _points,
        "points",
    ),
    MetricSpec(
        "duration",
        "Mean duration",
        "timed tasks",
        False,
        _mean("duration"),
        lambda t: t.duration_count,
        fmt_duration,
        "",
    ),
    MetricSpec(
        "cost",
        "Mean cost per task",
        "priced tasks",
        False,
        _mean("cost"),
        lambda t: t.cost_count,
        fmt_cost,
        "",
    ),
)
METRIC_KEYS = tuple(spec.key for spec in METRICS)


def difference_interval(key: str, a: Totals, b: Totals) -> Interval | None:
    """A minus B with its 95% interval, in display units (points, seconds, dollars)."""
    if key == "pass_rate":
        interval = rate_difference(a.pass_count, a.count, b.pass_count, b.count)
        return None if interval is None else interval.scaled(100)
    return mean_difference(a.sample(key), b.sample(key))


@dataclass(frozen=True)
class Difference:
    key: str
    label: str
    a_text: str
    b_text: str
    n_a: int
    n_b: int
    interval: Interval | None
    clear: bool
    diff_text: str  # "-12.0", "+1m 05s" (with a real minus sign)
    ci_text: str  # "-20.0 to -4.0"
    verdict: str
    tone: str  # for side A: good, bad, neutral (no clear difference)


def _signed(spec: MetricSpec, value: float) -> str:
    if spec.unit == "points" and round(abs(value), 1) == 0:
        return "0.0"
    sign = "+" if value > 0 else MINUS if value < 0 else ""
    return sign + spec.magnitude(abs(value))


def _value_text(spec: MetricSpec, value: float | None) -> str:
    if value is None:
        return DASH
    if spec.key == "pass_rate":
        return fmt_percent(value)
    return spec.magnitude(value)


def _start(side: Side) -> str:
    """The subject at the start of a sentence: phrases capitalised, names as they are."""
    return side.subject[:1].upper() + side.subject[1:] if side.plural else side.subject


def _verb(side: Side, singular: str, plural: str) -> str:
    return plural if side.plural else singular


def _phrase(spec: MetricSpec, diff: float, a: Side, task_type: str | None) -> str:
    """A clear difference's sentence up to "than B": "GLM 4.6 passes debugging 12.0 points
    less often"."""
    up = diff > 0
    amount = spec.magnitude(abs(diff))
    where = f" in {task_type}" if task_type else ""
    subject = _start(a)
    if spec.key == "pass_rate":
        verb = _verb(a, "passes", "pass")
        what = f" {task_type}" if task_type else ""
        return f"{subject} {verb}{what} {amount} points {'more' if up else 'less'} often"
    if spec.key in {"quality", "performance"}:
        on = "quality" if spec.key == "quality" else "the performance index"
        verb = _verb(a, "scores", "score")
        return f"{subject} {verb} {amount} points {'higher' if up else 'lower'} on {on}{where}"
    if spec.key == "duration":
        verb = _verb(a, "takes", "take")
        return f"{subject} {verb} {amount} {'longer' if up else 'less'} per task{where}"
    verb = _verb(a, "costs", "cost")
    return f"{subject} {verb} {amount} {'more' if up else 'less'} per task{where}"


def _range(spec: MetricSpec, low: float, high: float) -> str:
    return f"{spec.magnitude(low)}{EN_DASH}{spec.magnitude(high)}"


def verdict(
    spec: MetricSpec,
    interval: Interval | None,
    n_a: int,
    n_b: int,
    *,
    a: Side,
    b: Side,
    task_type: str | None = None,
) -> tuple[str, bool]:
    """(the sentence, clear?) for one metric of one group."""
    counts = f"{n_a:,} vs {n_b:,} {spec.noun}"
    if not n_a or not n_b:
        missing = a if not n_a else b
        return f"Not enough data: no {spec.noun} for {missing.subject}.", False
    if min(n_a, n_b) < MIN_TASKS or interval is None:
        return f"Not enough data: {counts}; at least {MIN_TASKS} a side are needed.", False
    if not clear_difference(interval, n_a, n_b):
        unit = f" {spec.unit}" if spec.unit else ""
        low, high = _signed(spec, interval.low), _signed(spec, interval.high)
        return (
            f"Not enough data: the 95% CI of the difference, {low} to {high}{unit}, "
            f"includes zero ({counts}).",
            False,
        )
    head = _phrase(spec, interval.estimate, a, task_type)
    low, high = sorted((abs(interval.low), abs(interval.high)))
    return f"{head} than {b.subject}, 95% CI {_range(spec, low, high)}, {counts}.", True


def compare_metric(
    spec: MetricSpec,
    a_totals: Totals,
    b_totals: Totals,
    *,
    a: Side,
    b: Side,
    task_type: str | None = None,
) -> Difference:
    n_a, n_b = spec.count(a_totals), spec.count(b_totals)
    interval = difference_interval(spec.key, a_totals, b_totals)
    sentence, clear = verdict(spec, interval, n_a, n_b, a=a, b=b, task_type=task_type)
    tone = "neutral"
    if clear:
        tone = "good" if (interval.estimate > 0) == spec.higher_is_better else "bad"
    return Difference(
        key=spec.key,
        label=spec.label,
        a_text=_value_text(spec, spec.value(a_totals)),
        b_text=_value_text(spec, spec.value(b_totals)),
        n_a=n_a,
        n_b=n_b,
        interval=interval,
        clear=clear,
        diff_text=DASH if interval is None else _signed(spec, interval.estimate),
        ci_text=DASH
        if interval is None
        else f"{_signed(spec, interval.low)} to {_signed(spec, interval.high)}",
        verdict=sentence,
        tone=tone,
    )


def compare_totals(
    a_totals: Totals, b_totals: Totals, *, a: Side, b: Side, task_type: str | None = None
) -> list[Difference]:
    """Every metric of one group (a task type, or all of them with ``task_type`` None)."""
    return [
        compare_metric(spec, a_totals, b_totals, a=a, b=b, task_type=task_type) for spec in METRICS
    ]
