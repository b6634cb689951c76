"""Records for alert tests, written through the public recorder so rollups are real, at times
relative to a fixed clock that the tests pass to the evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from records.recorder import record_task_performance

T0 = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)  # the clock the tests start from


def record(
    *,
    at: datetime,
    score: float = 90,
    success: bool = True,
    task_type: str = "debugging",
    model: str = "GLM 4.6",
    project: str | None = None,
    skills: tuple[str, ...] = (),
    agents: tuple[str, ...] = (),
    auto: bool = True,
    cost: float | None = None,
) -> str:
    task = {
        "task_type": task_type,
        "description": f"{task_type} task",
        "overall_score": score,
        "success": success,
        "skills_used": list(skills),
        "agents_delegated": list(agents),
        "recorded_at": at.isoformat(),
        "auto_generated": auto,
    }
    if project is not None:
        task["project"] = project
    if cost is not None:
        task["cost_usd"] = cost
    return record_task_performance(task, model)


def streak(n: int, *, end: datetime, step: timedelta = timedelta(minutes=1), **kw) -> list[str]:
    """``n`` records one ``step`` apart, the newest at ``end``."""
    return [record(at=end - step * (n - 1 - i), **kw) for i in range(n)]
