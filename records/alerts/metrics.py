"""What a rule measures: the figures of its scope in its window (and the window before, for a
"drop"), read so that the cost does not grow with the records stored.

- Last N hours: the rollups (records.stats.aggregates.totals), with skill and agent scopes
  through the skill and agent rollups. Scopes the rollups do not split by (a skill and an agent
  together; a project, until the rollups key on it) read the window's records through the
  time (and project) indexes.
- Last N tasks: the newest N matching records (2N for a drop) through the time indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum

from records.alerts.models import EVENT_RECORD_IDS, AlertRule, WindowKind
from records.models import AIModel, RecordAgent, RecordSkill, TaskRecord
from records.rules.alerts import DROP, Figures
from records.rules.periods import Window
from records.rules.scoring import PASS_THRESHOLD
from records.stats.aggregates import overall, totals
from records.stats.filters import RecordFilters, records_in
from records.stats.rollups import COST_MICROS

# Rollups keyed by project come with RecordFilters.project (branch "scale"); until they are
# there, a project scope reads the window's records (through the project and time index).
PROJECT_IN_ROLLUPS = "project" in {f.name for f in fields(RecordFilters)}


@dataclass(frozen=True)
class Measured:
    """One window's figures and where they come from."""

    figures: Figures
    window: Window  # the time range asked (last N tasks: ending at the newest counted)
    first_at: datetime | None = None  # the oldest and newest task counted, when known
    last_at: datetime | None = None
    record_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _ScopeFilters(RecordFilters):
    """The dashboard's filters plus a skill or an agent, for the skill and agent rollups (and
    their link tables), which both name it ``skill`` / ``agent``."""

    skill: str | None = None
    agent: str | None = None

    def link_q(self) -> Q:
        q = Q()
        if self.skill is not None:
            q &= Q(skill__name=self.skill)
        if self.agent is not None:
            q &= Q(agent__name=self.agent)
        return q


def _filters(rule: AlertRule) -> RecordFilters:
    given = {
        "model": rule.model or None,
        "task_type": rule.task_type or None,
        "origin": rule.origin or None,
    }
    if PROJECT_IN_ROLLUPS:
        given["project"] = rule.project or None
    return RecordFilters(**given)


def _scope_q(rule: AlertRule) -> Q | None:
    """The rule's scope as a Q on records; None when it matches nothing (an unknown model)."""
    q = Q()
    if rule.model:
        model_id = AIModel.objects.filter(name=rule.model).values_list("pk", flat=True).first()
        if model_id is None:
            return None
        q &= Q(model_id=model_id)  # by id: the (model, recorded_at) index, no join
    if rule.task_type:
        q &= Q(task_type=rule.task_type)
    if rule.origin:
        q &= Q(auto_generated=rule.origin == "auto")
    if rule.project:
        q &= Q(project=rule.project)
    if rule.skill:
        q &= Exists(RecordSkill.objects.filter(record=OuterRef("pk"), skill__name=rule.skill))
    if rule.agent:
        q &= Exists(RecordAgent.objects.filter(record=OuterRef("pk"), agent__name=rule.agent))
    return q


def _of_totals(window: Window, rule: AlertRule) -> Figures:
    if rule.skill:
        subject, filters = "skills", _ScopeFilters(**vars(_filters(rule)), skill=rule.skill)
    elif rule.agent:
        subject, filters = "agents", _ScopeFilters(**vars(_filters(rule)), agent=rule.agent)
    else:
        subject, filters = "records", _filters(rule)
    if subject == "records":
        total = overall(window=window, filters=filters)
    else:
        rows = totals(window=window, filters=filters, subject=subject)
        total = rows[0] if rows else None
    if total is None or not total.count:
        return Figures()
    return Figures(
        count=total.count,
        success_count=total.success_count,
        pass_count=total.pass_count,
        quality_sum=total.quality_tenths / 10,
        performance_sum=total.performance_tenths / 10,
        cost_sum=total.cost_micros / COST_MICROS,
        cost_count=total.cost_count,
    )


def _of_records(window: Window, scope: Q | None) -> Measured:
    if scope is None:
        return Measured(Figures(), window)
    row = (
        records_in(window)
        .filter(scope)
        .aggregate(
            count=Count("pk"),
            success_count=Count("pk", filter=Q(success=True)),
            pass_count=Count("pk", filter=Q(quality_score__gte=PASS_THRESHOLD)),
            quality_sum=Sum("quality_score"),
            performance_sum=Sum("performance_index"),
            cost_sum=Sum("cost_usd"),
            cost_count=Count("cost_usd"),
            first_at=Min("recorded_at"),
            last_at=Max("recorded_at"),
        )
    )
    figures = Figures(
        count=row["count"],
        success_count=row["success_count"],
        pass_count=row["pass_count"],
        quality_sum=float(row["quality_sum"] or 0),
        performance_sum=float(row["performance_sum"] or 0),
        cost_sum=float(row["cost_sum"] or 0),
        cost_count=row["cost_count"],
    )
    return Measured(figures, window, row["first_at"], row["last_at"])


def _hours(rule: AlertRule, window: Window) -> Measured:
    if (rule.project and not PROJECT_IN_ROLLUPS) or (rule.skill and rule.agent):
        return _of_records(window, _scope_q(rule))
    return Measured(_of_totals(window, rule), window)


def _newest(rule: AlertRule, now: datetime, *, skip: int, n: int) -> Measured:
    """The newest ``n`` matching records at ``now``, after the newest ``skip``."""
    scope = _scope_q(rule)
    if scope is None:
        return Measured(Figures(), Window(start=None, end=now))
    rows = list(
        TaskRecord.objects.filter(scope, recorded_at__lte=now)
        .order_by("-recorded_at", "-id")
        .values_list(
            "record_id", "recorded_at", "success", "quality_score", "performance_index", "cost_usd"
        )[skip : skip + n]
    )
    figures = Figures.of_rows([row[2:] for row in rows])
    if not rows:
        return Measured(figures, Window(start=None, end=now))
    first_at, last_at = rows[-1][1], rows[0][1]
    return Measured(
        figures,
        Window(start=first_at - timedelta(microseconds=1), end=last_at),
        first_at,
        last_at,
        tuple(row[0] for row in rows[:EVENT_RECORD_IDS]),
    )


def measure(rule: AlertRule, *, now: datetime) -> tuple[Measured, Measured | None]:
    """The rule's current window and, for a drop, the window of the same length before it."""
    with_previous = rule.condition == DROP
    if rule.window_kind == WindowKind.HOURS:
        window = Window(start=now - timedelta(hours=rule.window_size), end=now)
        current = _hours(rule, window)
        previous = _hours(rule, window.previous()) if with_previous else None
        return current, previous
    n = rule.window_size
    current = _newest(rule, now, skip=0, n=n)
    previous = _newest(rule, now, skip=n, n=n) if with_previous else None
    return current, previous
