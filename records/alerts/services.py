"""Writes for alerts: create a rule; evaluate the rules (store samples and state changes, queue
their notifications); one check = evaluate, then deliver what is queued."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from records.alerts.metrics import Measured, measure
from records.alerts.models import (
    SAMPLES_KEPT,
    AlertEvent,
    AlertRule,
    AlertSample,
    Channel,
    NotificationAttempt,
    State,
    WindowKind,
)
from records.alerts.notify import Delivered, deliver_pending
from records.alerts.text import event_summary
from records.rules.alerts import breaks, metric_value

logger = logging.getLogger(__name__)


def rule_create(**fields: Any) -> AlertRule:
    """A new rule, validated like the admin's form (ValidationError keyed by field)."""
    rule = AlertRule(**fields)
    rule.full_clean()
    rule.save()
    return rule


@dataclass(frozen=True)
class Evaluation:
    rule: AlertRule
    value: float | None
    task_count: int
    broken: bool | None  # None: too few tasks to say
    event: AlertEvent | None  # the state change, when there was one


def _evaluate(rule: AlertRule, now: datetime) -> Evaluation:
    current, previous = measure(rule, now=now)
    value = metric_value(current.figures, rule.metric)
    previous_value = None if previous is None else metric_value(previous.figures, rule.metric)
    broken = breaks(
        metric=rule.metric,
        condition=rule.condition,
        threshold=rule.threshold,
        value=value,
        count=current.figures.count,
        min_tasks=rule.min_tasks,
        previous_value=previous_value,
        previous_count=0 if previous is None else previous.figures.count,
    )
    with transaction.atomic():
        # The state as stored now, locked: a second checker running at the same time waits
        # here and then sees this one's change instead of storing (and notifying) it again.
        rule.state = (
            AlertRule.objects.select_for_update().values_list("state", flat=True).get(pk=rule.pk)
        )
        new_state = rule.state
        if broken is True:
            new_state = State.FIRING
        elif broken is False:
            new_state = State.OK
        rule.last_checked_at = now
        rule.last_value = value
        rule.last_task_count = current.figures.count
        event = None
        if new_state != rule.state:
            rule.state = new_state
            rule.state_since = now
            event = _store_change(rule, now, current, value, previous_value)
        rule.save(
            update_fields=[
                "state",
                "state_since",
                "last_checked_at",
                "last_value",
                "last_task_count",
            ]
        )
        AlertSample.objects.create(rule=rule, at=now, value=value, task_count=current.figures.count)
        old = AlertSample.objects.filter(rule=rule).order_by("-at", "-id")[SAMPLES_KEPT:]
        AlertSample.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()
    return Evaluation(rule, value, current.figures.count, broken, event)


def _store_change(
    rule: AlertRule,
    now: datetime,
    current: Measured,
    value: float | None,
    previous_value: float | None,
) -> AlertEvent:
    event = AlertEvent(
        rule=rule,
        at=now,
        state=rule.state,
        value=value,
        previous_value=previous_value,
        threshold=rule.threshold,
        task_count=current.figures.count,
        first_at=current.first_at,
        last_at=current.last_at,
        window_start=current.window.start,
        window_end=current.window.end,
        record_ids=list(current.record_ids) if rule.window_kind == WindowKind.TASKS else [],
    )
    event.summary = event_summary(rule, event)
    event.save()
    NotificationAttempt.objects.bulk_create(
        [
            NotificationAttempt(event=event, channel=channel, target=target, created_at=now)
            for channel, targets in (
                (Channel.WEBHOOK, rule.webhook_list),
                (Channel.EMAIL, rule.email_list),
            )
            for target in targets
        ]
    )
    return event


def evaluate_rules(*, now: datetime | None = None) -> list[Evaluation]:
    """Evaluate every enabled rule at ``now`` (default: the clock). A rule that cannot be
    evaluated is logged and skipped; the others still are."""
    now = now or timezone.now()
    done = []
    for rule in AlertRule.objects.filter(enabled=True).order_by("pk"):
        try:
            done.append(_evaluate(rule, now))
        except Exception:  # one broken rule must not stop the others
            logger.exception("Alert rule %r could not be evaluated", rule.name)
    return done


@dataclass(frozen=True)
class CheckResult:
    evaluations: list[Evaluation]
    deliveries: list[Delivered]

    @property
    def changes(self) -> list[AlertEvent]:
        return [e.event for e in self.evaluations if e.event is not None]


def check_alerts(
    *, now: datetime | None = None, sleep: Callable[[float], None] | None = None
) -> CheckResult:
    """One check: evaluate every rule, then deliver the notifications still pending (these
    state changes' and any a previous check could not finish)."""
    evaluations = evaluate_rules(now=now)
    deliveries = deliver_pending(now=now, sleep=sleep)
    return CheckResult(evaluations, deliveries)


def validation_message(error: ValidationError) -> str:
    """A ValidationError as one line: "field: message; field: message"."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
