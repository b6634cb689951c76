"""The alerts page and the dashboard's banner of firing rules: plain values ready to print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from dashboard.formatting import iso_utc, utc_text
from records.alerts.models import AlertEvent, AlertRule, State
from records.alerts.selectors import firing_rules, rules_overview
from records.alerts.text import condition_text, rule_text, scope_text, window_text
from records.rules.alerts import ABOVE, BELOW, format_value

SPARK_WIDTH = 160
SPARK_HEIGHT = 32
SPARK_PAD = 3


@dataclass(frozen=True)
class Sparkline:
    points: str  # "x,y x,y ..." for an SVG polyline
    threshold_y: float | None  # the threshold's height (below/above rules), when in range
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def sparkline(values: list[float | None], *, threshold: float | None, label: str) -> Sparkline:
    """A polyline of the values (oldest first; checks without a value are left out), scaled to
    their range and the threshold's, so the line shows where the metric stands against it."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return Sparkline(points="", threshold_y=None, label=label)
    span_values = [v for _, v in known] + ([threshold] if threshold is not None else [])
    low, high = min(span_values), max(span_values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    inner = SPARK_HEIGHT - 2 * SPARK_PAD
    steps = max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(SPARK_PAD + inner * (high - value) / (high - low), 1)

    def x(index: int) -> float:
        return round(SPARK_WIDTH * index / steps, 1) if len(values) > 1 else SPARK_WIDTH / 2

    points = " ".join(f"{x(i)},{y(v)}" for i, v in known)
    if len(known) == 1:  # one point: a short flat line, so something shows
        i, v = known[0]
        points = f"{max(x(i) - 2, 0)},{y(v)} {min(x(i) + 2, SPARK_WIDTH)},{y(v)}"
    return Sparkline(
        points=points, threshold_y=y(threshold) if threshold is not None else None, label=label
    )


@dataclass(frozen=True)
class EventRow:
    state: str
    at_iso: str
    at_text: str
    value: str
    threshold: str
    tasks: str
    summary: str
    notifications: list[tuple[str, str, str, int, str]]  # channel, target, status, tries, error


def _tasks_text(event: AlertEvent) -> str:
    count = f"{event.task_count} task{'s' if event.task_count != 1 else ''}"
    first, last = event.first_at or event.window_start, event.last_at or event.window_end
    if first is None:
        return count
    return f"{count}, {utc_text(first)} to {utc_text(last)}"


def _event_row(rule: AlertRule, event: AlertEvent) -> EventRow:
    return EventRow(
        state=event.state,
        at_iso=iso_utc(event.at),
        at_text=utc_text(event.at),
        value=format_value(rule.metric, event.value),
        threshold=format_value(rule.metric, event.threshold),
        tasks=_tasks_text(event),
        summary=event.summary,
        notifications=[
            (n.channel, n.target, n.status, n.attempts, n.last_error)
            for n in event.notifications.all()
        ],
    )


@dataclass(frozen=True)
class RuleCard:
    pk: int
    name: str
    state: str
    state_label: str
    enabled: bool
    description: str
    scope: str
    condition: str
    window: str
    value: str
    checked_iso: str
    checked_text: str
    since_iso: str
    since_text: str
    channels: str
    spark: Sparkline
    events: list[EventRow]
    admin_url: str


def _card(rule: AlertRule) -> RuleCard:
    samples = list(reversed(rule.recent_samples))  # oldest first
    threshold = rule.threshold if rule.condition in {BELOW, ABOVE} else None
    channels = [*rule.webhook_list, *rule.email_list]
    return RuleCard(
        pk=rule.pk,
        name=rule.name,
        state=rule.state,
        state_label="Firing" if rule.state == State.FIRING else "OK",
        enabled=rule.enabled,
        description=rule_text(rule),
        scope=scope_text(rule),
        condition=condition_text(rule),
        window=window_text(rule),
        value=format_value(rule.metric, rule.last_value),
        checked_iso=iso_utc(rule.last_checked_at) if rule.last_checked_at else "",
        checked_text=utc_text(rule.last_checked_at) if rule.last_checked_at else "never",
        since_iso=iso_utc(rule.state_since) if rule.state_since else "",
        since_text=utc_text(rule.state_since) if rule.state_since else "",
        channels=f"{len(channels)} channel{'s' if len(channels) != 1 else ''}",
        spark=sparkline(
            [s.value for s in samples],
            threshold=threshold,
            label=f"{rule.name}: the metric at the last {len(samples)} checks",
        ),
        events=[_event_row(rule, e) for e in rule.recent_events],
        admin_url=reverse("admin:records_alertrule_change", args=[rule.pk]),
    )


def alerts_page_context() -> dict[str, Any]:
    cards = [_card(rule) for rule in rules_overview()]
    return {
        "cards": cards,
        "firing_count": sum(1 for c in cards if c.state == State.FIRING),
        "add_url": reverse("admin:records_alertrule_add"),
    }


@dataclass(frozen=True)
class BannerItem:
    name: str
    text: str
    href: str


def alerts_banner_context(query: Any = None) -> dict[str, Any]:
    """The rules firing now, for the banner over the dashboard's panels (any view)."""
    rules, total = firing_rules()
    page = reverse("dashboard:alerts")
    items = [
        BannerItem(
            name=rule.name,
            text=f"{condition_text(rule)}: now {format_value(rule.metric, rule.last_value)}",
            href=f"{page}#rule-{rule.pk}",
        )
        for rule in rules
    ]
    return {"items": items, "total": total, "more": total - len(items), "href": page}
