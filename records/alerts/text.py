"""The sentences that describe a rule and its state changes (the page, webhooks, email)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from records.rules.alerts import (
    ABOVE,
    BELOW,
    METRIC_LABELS,
    change_for_the_worse,
    format_value,
)

if TYPE_CHECKING:
    from records.alerts.models import AlertEvent, AlertRule


def scope_text(rule: AlertRule) -> str:
    parts = [
        rule.task_type,
        rule.model,
        rule.project and f"project {rule.project}",
        rule.skill and f"skill {rule.skill}",
        rule.agent and f"agent {rule.agent}",
        rule.origin,
    ]
    return " · ".join(p for p in parts if p) or "all tasks"


def window_text(rule: AlertRule) -> str:
    n = rule.window_size
    unit = (
        ("hour" if n == 1 else "hours")
        if rule.window_kind == "hours"
        else ("task" if n == 1 else "tasks")
    )
    return f"the last {n} {unit}" if n != 1 else f"the last {unit}"


def condition_text(rule: AlertRule) -> str:
    metric = METRIC_LABELS[rule.metric]
    threshold = format_value(rule.metric, rule.threshold)
    if rule.condition == BELOW:
        return f"{metric} below {threshold}"
    if rule.condition == ABOVE:
        return f"{metric} above {threshold}"
    direction = "rise" if rule.metric in {"cost_per_task", "failed_tasks"} else "drop"
    return f"{metric}: a {direction} of at least {threshold} against the window before"


def rule_text(rule: AlertRule) -> str:
    return f"{condition_text(rule)} over {window_text(rule)} ({scope_text(rule)})"


def event_summary(rule: AlertRule, event: AlertEvent) -> str:
    metric = METRIC_LABELS[rule.metric]
    value = format_value(rule.metric, event.value)
    head = "FIRING" if event.state == "firing" else "RESOLVED"
    change = ""
    if event.previous_value is not None and event.value is not None:
        worse = change_for_the_worse(rule.metric, event.value, event.previous_value)
        was = format_value(rule.metric, event.previous_value)
        change = f" (was {was} the window before, {'worse' if worse > 0 else 'better'} by "
        change += f"{format_value(rule.metric, abs(worse))})"
    return (
        f"Perfsite alert {head}: {rule.name}: {metric} {value}{change} over "
        f"{window_text(rule)}, {event.task_count} tasks ({scope_text(rule)}); "
        f"rule: {condition_text(rule)}."
    )
