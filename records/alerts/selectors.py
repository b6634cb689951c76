"""Reads for the alerts page and the dashboard's banner: bounded queries on the rule tables."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from records.alerts.models import (
    SAMPLES_KEPT,
    AlertEvent,
    AlertRule,
    AlertSample,
    NotificationAttempt,
    State,
)

BANNER_LIMIT = 10
HISTORY_SHOWN = 10


def firing_rules(*, limit: int = BANNER_LIMIT) -> tuple[list[AlertRule], int]:
    """The enabled rules firing now (longest firing first, ``limit`` of them), how many in all."""
    firing = AlertRule.objects.filter(state=State.FIRING, enabled=True)
    shown = list(firing.order_by("state_since", "name")[:limit])
    total = len(shown) if len(shown) < limit else firing.count()
    return shown, total


def rules_overview() -> QuerySet[AlertRule]:
    """Every rule, firing first, with its newest HISTORY_SHOWN state changes (and their
    notifications) and its sparkline samples: four queries whatever the history holds."""
    firing_first = AlertRule.objects.order_by("state", "name")  # "firing" < "ok"
    return firing_first.prefetch_related(
        Prefetch(
            "events",
            queryset=AlertEvent.objects.order_by("-at", "-id")[:HISTORY_SHOWN],
            to_attr="recent_events",
        ),
        Prefetch(
            "recent_events__notifications",
            queryset=NotificationAttempt.objects.order_by("channel", "id"),
        ),
        Prefetch(
            "samples",
            queryset=AlertSample.objects.order_by("-at", "-id")[:SAMPLES_KEPT],
            to_attr="recent_samples",
        ),
    )
