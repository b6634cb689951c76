"""Evaluating rules: every metric and scope, both kinds of window, the ok <-> firing moves with
an injected clock, and the minimum number of tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from records.alerts.models import AlertEvent, AlertRule, NotificationAttempt
from records.alerts.services import check_alerts, evaluate_rules, rule_create
from tests.alerts.helpers import T0, record, streak

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def rule(**fields) -> AlertRule:
    defaults = {
        "name": "rule",
        "metric": "pass_rate",
        "condition": "below",
        "threshold": 70,
        "window_kind": "tasks",
        "window_size": 10,
        "min_tasks": 1,
    }
    return rule_create(**(defaults | fields))


def value_at(r: AlertRule, now) -> float | None:
    [evaluation] = [e for e in evaluate_rules(now=now) if e.rule.pk == r.pk]
    return evaluation.value


def test_a_drop_fires_once_stays_quiet_while_firing_and_resolves_once(settings):
    settings.PERFSITE_ALERT_BACKOFF = 0
    r = rule(
        name="debugging drop",
        condition="drop",
        threshold=10,
        window_size=10,
        task_type="debugging",
        emails="team@example.com",
    )
    streak(20, end=T0, score=90)  # the two windows: 100% pass each
    clock = T0

    assert check_alerts(now=clock).changes == []

    # a bad streak: the newest 10 tasks fail, the 10 before pass -> a drop of 100 points
    clock += HOUR
    streak(10, end=clock, score=40)
    first = check_alerts(now=clock)
    assert [e.state for e in first.changes] == ["firing"]
    assert len(mail.outbox) == 1
    assert "FIRING" in mail.outbox[0].subject

    # three more failures: the newest 10 still fail, the 10 before hold 7 passes -> still a
    # drop (70 points): the rule stays firing, and nobody hears of it again
    clock += HOUR
    streak(3, end=clock, score=40)
    assert check_alerts(now=clock).changes == []
    assert len(mail.outbox) == 1

    # recovery: ten good tasks after ten bad ones is a rise, not a drop -> resolved, once
    clock += HOUR
    streak(10, end=clock, score=95)
    resolved = check_alerts(now=clock)
    assert [e.state for e in resolved.changes] == ["ok"]
    assert len(mail.outbox) == 2
    assert "RESOLVED" in mail.outbox[1].subject

    clock += HOUR
    assert check_alerts(now=clock).changes == []
    assert len(mail.outbox) == 2
    states = list(AlertEvent.objects.filter(rule=r).order_by("at").values_list("state", flat=True))
    assert states == ["firing", "ok"]
    assert NotificationAttempt.objects.filter(status="sent").count() == 2


def test_the_event_keeps_what_it_was_based_on():
    rule(name="pass", window_size=5, threshold=70)
    ids = streak(5, end=T0, score=50)

    [event] = check_alerts(now=T0).changes

    assert event.state == "firing"
    assert event.value == 0
    assert event.threshold == 70
    assert event.task_count == 5
    assert sorted(event.record_ids) == sorted(ids)
    assert event.first_at == T0 - timedelta(minutes=4)
    assert event.last_at == T0
    assert "pass rate 0.0%" in event.summary


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("pass_rate", 50.0),  # 2 of 4 at 70 or more
        ("mean_quality", (90 + 80 + 40 + 30) / 4),
        ("failed_tasks", 1.0),
        ("cost_per_task", (0.5 + 1.5) / 2),  # only the tasks with a cost
    ],
)
@pytest.mark.parametrize("window", ["tasks", "hours"])
def test_every_metric_on_both_windows(metric, expected, window):
    record(at=T0 - timedelta(minutes=50), score=90, cost=0.5)
    record(at=T0 - timedelta(minutes=40), score=80)
    record(at=T0 - timedelta(minutes=30), score=40, success=False, cost=1.5)
    record(at=T0 - timedelta(minutes=20), score=30)
    record(at=T0 - timedelta(hours=30), score=10, cost=99)  # outside both windows
    r = rule(metric=metric, window_kind=window, window_size=4 if window == "tasks" else 2)

    assert value_at(r, T0) == pytest.approx(expected)


def test_mean_performance_matches_the_stored_records():
    from records.models import TaskRecord

    streak(6, end=T0, score=75)
    r = rule(metric="mean_performance", window_kind="hours", window_size=3)
    stored = [p for p in TaskRecord.objects.values_list("performance_index", flat=True)]

    assert value_at(r, T0) == pytest.approx(sum(stored) / len(stored), abs=0.05)


SCOPES = [
    ({"task_type": "debugging"}, {"task_type": "coding"}),
    ({"model": "GLM 4.6"}, {"model": "Claude Sonnet 4.5"}),
    ({"project": "shop"}, {"project": "blog"}),
    ({"skills": ("pytest",)}, {"skills": ("lint",)}),
    ({"agents": ("reviewer",)}, {"agents": ("planner",)}),
    ({"auto": False}, {"auto": True}),
    ({"skills": ("pytest",), "agents": ("reviewer",)}, {"skills": ("pytest",)}),
]


def _rule_scope(inside: dict) -> dict:
    scope = {}
    for key, value in inside.items():
        if key == "skills":
            scope["skill"] = value[0]
        elif key == "agents":
            scope["agent"] = value[0]
        elif key == "auto":
            scope["origin"] = "auto" if value else "manual"
        else:
            scope[key] = value
    return scope


@pytest.mark.parametrize(("inside", "outside"), SCOPES)
@pytest.mark.parametrize("window", ["tasks", "hours"])
def test_every_scope_counts_only_its_tasks(inside, outside, window):
    base = {"task_type": "debugging", "model": "GLM 4.6"}
    # Times spread over the hour boundaries, so hour windows read hour rollups, day rollups
    # (skills, agents) and the raw edge records alike.
    for i in range(3):
        record(at=T0 - timedelta(minutes=5 + 70 * i), score=40, **(base | inside))
    for i in range(4):
        record(at=T0 - timedelta(minutes=7 + 50 * i), score=95, **(base | outside))
    r = rule(
        window_kind=window,
        window_size=3 if window == "tasks" else 6,
        **_rule_scope(inside),
    )

    [evaluation] = evaluate_rules(now=T0)

    assert evaluation.task_count == 3
    assert evaluation.value == 0.0
    assert AlertRule.objects.get(pk=r.pk).state == "firing"


def test_everything_scope_counts_every_task():
    for i in range(30):
        record(at=T0 - timedelta(minutes=37 * i), score=90 if i % 3 else 50, task_type="coding")
    r = rule(window_kind="hours", window_size=24)

    value = value_at(r, T0)

    within = [i for i in range(30) if 37 * i < 24 * 60]
    passing = [i for i in within if i % 3]
    assert value == pytest.approx(100 * len(passing) / len(within))


def test_an_unknown_model_matches_nothing_and_never_fires():
    streak(5, end=T0, score=10)
    r = rule(model="No Such Model")

    [evaluation] = evaluate_rules(now=T0)

    assert evaluation.task_count == 0
    assert evaluation.broken is None
    assert AlertRule.objects.get(pk=r.pk).state == "ok"


def test_fewer_tasks_than_the_minimum_never_fire():
    streak(4, end=T0, score=10)
    r = rule(min_tasks=5)

    evaluate_rules(now=T0)
    assert AlertRule.objects.get(pk=r.pk).state == "ok"

    record(at=T0 + timedelta(minutes=1), score=10)
    evaluate_rules(now=T0 + timedelta(minutes=2))
    assert AlertRule.objects.get(pk=r.pk).state == "firing"


def test_above_fires_on_cost_per_task_and_time_passes_by_the_clock():
    r = rule(
        metric="cost_per_task",
        condition="above",
        threshold=1.0,
        window_kind="hours",
        window_size=2,
    )
    streak(3, end=T0, cost=2.0)

    evaluate_rules(now=T0)
    assert AlertRule.objects.get(pk=r.pk).state == "firing"

    # Three hours later the expensive tasks are out of the window: too few tasks to say, so
    # the rule keeps its state; cheap tasks then resolve it.
    evaluate_rules(now=T0 + 3 * HOUR)
    assert AlertRule.objects.get(pk=r.pk).state == "firing"
    streak(3, end=T0 + 3 * HOUR, cost=0.2)
    evaluate_rules(now=T0 + 3 * HOUR)
    assert AlertRule.objects.get(pk=r.pk).state == "ok"
    assert r.events.count() == 2


def test_a_drop_on_hour_windows_compares_with_the_window_before():
    r = rule(
        metric="mean_quality",
        condition="drop",
        threshold=15,
        window_kind="hours",
        window_size=2,
        min_tasks=2,
    )
    streak(4, end=T0 - 2 * HOUR - timedelta(minutes=10), score=90)  # the window before
    streak(4, end=T0, score=70)  # 20 points lower

    [evaluation] = evaluate_rules(now=T0)

    assert evaluation.value == pytest.approx(70)
    assert evaluation.broken is True
    event = r.events.get()
    assert event.previous_value == pytest.approx(90)
    assert "worse by 20.0" in event.summary


def test_failed_tasks_drop_means_more_failures():
    r = rule(metric="failed_tasks", condition="drop", threshold=3, window_size=5)
    streak(5, end=T0 - HOUR, success=True)
    streak(5, end=T0, success=False)

    evaluate_rules(now=T0)

    assert AlertRule.objects.get(pk=r.pk).state == "firing"


def test_disabled_rules_are_not_evaluated():
    streak(5, end=T0, score=10)
    r = rule(enabled=False)

    assert evaluate_rules(now=T0) == []
    assert AlertRule.objects.get(pk=r.pk).last_checked_at is None


def test_samples_are_kept_for_the_sparkline_and_bounded():
    from records.alerts.models import SAMPLES_KEPT, AlertSample

    r = rule()
    streak(3, end=T0)
    for minute in range(SAMPLES_KEPT + 5):
        evaluate_rules(now=T0 + timedelta(minutes=minute))

    assert AlertSample.objects.filter(rule=r).count() == SAMPLES_KEPT


def test_hour_windows_read_the_rollups_not_the_records(django_assert_max_num_queries):
    """Bounded work: an hour-window rule costs the same few queries whatever is stored."""
    for i in range(40):
        record(at=T0 - timedelta(minutes=13 * i), score=60 + i % 40)
    rule(name="all", window_kind="hours", window_size=24)
    rule(name="skill", window_kind="hours", window_size=24, skill="pytest")

    with django_assert_max_num_queries(2 * 12):
        evaluate_rules(now=T0)


def test_check_alerts_command_reports_the_change(capsys):
    rule(name="pass", window_size=5)
    streak(5, end=T0 - timedelta(days=400), score=10)  # long ago, still the newest 5 tasks

    call_command("check_alerts")

    out = capsys.readouterr().out
    assert "Checked 1 rule: 1 firing, 1 changed." in out
    assert "Perfsite alert FIRING: pass" in out
