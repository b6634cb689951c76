"""Plain-language rendering of summaries for the command line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def summary_lines(summary: dict[str, Any]) -> Iterator[str]:
    days = summary["period_days"]
    total = summary["total_tasks"]
    if not total:
        yield f"No tasks recorded in the last {days} days."
        return
    yield (
        f"In the last {days} days, {total} tasks were recorded: average quality "
        f"{summary['avg_score']:.1f}, {summary['success_rate']:.1f}% succeeded."
    )
    yield "By task type:"
    for name, row in summary["task_types"].items():
        yield f"  {name:<14} {row['count']:>7} tasks, average quality {row['avg_score']:.1f}"
    yield "By model:"
    for name, row in summary["models_used"].items():
        yield f"  {name:<24} {row['count']:>7} tasks, average quality {row['avg_score']:.1f}"
    for task_type, insight in summary.get("insights", {}).items():
        best = insight.get("best_model")
        if best:
            yield (
                f"For {task_type}, {best['name']} averages {best['avg_score']:.1f} "
                f"over {best['count']} tasks."
            )
