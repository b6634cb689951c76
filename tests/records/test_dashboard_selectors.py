"""The dashboard's selectors, called directly with a fixed ``now`` (no wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dashboard import selectors as sel
from records.rules.periods import Window, period_window
from records.stats.filters import RecordFilters
from records.stats.insights import TOP_MODELS
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 10, 26, 12, 0, tzinfo=UTC)
ALL = RecordFilters()


def at(**delta) -> datetime:
    return NOW - timedelta(**delta)


def test_kpi_figures_for_a_window():
    for quality, duration, auto in [(90, 60, True), (60, 120, True), (80, 600, False)]:
        TaskRecordFactory(
            recorded_at=at(hours=1),
            quality_score=quality,
            duration_seconds=duration,
            auto_generated=auto,
        )
    TaskRecordFactory(recorded_at=at(days=2), quality_score=10)  # outside 24h

    figures = sel.kpi_figures(window=period_window("24h", NOW), filters=ALL)

    assert figures == sel.KpiFigures(
        tasks=3,
        avg_quality=76.7,
        avg_performance_index=figures.avg_performance_index,
        pass_rate=66.7,
        auto_count=2,
        manual_count=1,
        median_duration=120.0,
    )


def test_kpi_figures_of_an_empty_window():
    figures = sel.kpi_figures(window=period_window("24h", NOW), filters=ALL)

    assert (figures.tasks, figures.avg_quality, figures.pass_rate, figures.median_duration) == (
        0,
        None,
        None,
        None,
    )


def test_window_bounds_are_start_exclusive_end_inclusive():
    window = period_window("24h", NOW)
    on_start = TaskRecordFactory(recorded_at=window.start)
    on_end = TaskRecordFactory(recorded_at=NOW)

    ids = [r.record_id for r in sel.recent_records(window=window, filters=ALL).records]

    assert ids == [on_end.record_id]
    assert on_start.record_id not in ids


def test_model_comparison_orders_by_count_then_name():
    glm, gpt = AIModelFactory(name="GLM 4.6"), AIModelFactory(name="GPT-5")
    for model, n in [(gpt, 2), (glm, 2)]:
        for _ in range(n):
            TaskRecordFactory(recorded_at=at(hours=1), model=model, success=model is glm)
    TaskRecordFactory(recorded_at=at(hours=1))  # Claude Sonnet 4.5, once

    comparison = sel.model_comparison(window=period_window("24h", NOW), filters=ALL)

    assert [(g.key, g.count, g.success_rate) for g in comparison.rows] == [
        ("GLM 4.6", 2, 100.0),
        ("GPT-5", 2, 0.0),
        ("Claude Sonnet 4.5", 1, 100.0),
    ]
    assert (comparison.more_models, comparison.more_tasks) == (0, 0)


def test_model_choices_are_the_most_used_of_the_newest_records_and_the_selected_one():
    rare = AIModelFactory(name="rare model")
    TaskRecordFactory(recorded_at=at(hours=5), model=rare)  # once: not among the most used
    for i in range(TOP_MODELS + 2):
        model = AIModelFactory(name=f"model {i:02d}")
        for _ in range(1 + (i < TOP_MODELS)):  # the first TOP_MODELS twice, two once
            TaskRecordFactory(recorded_at=at(hours=1), model=model)

    choices = sel.model_choices()

    assert choices == sorted(f"model {i:02d}" for i in range(TOP_MODELS))
    assert sel.model_choices(selected="rare model") == sorted([*choices, "rare model"])
    assert sel.model_exists("rare model") and not sel.model_exists("no such model")


def test_model_comparison_shows_the_most_used_and_counts_the_rest():
    for i in range(TOP_MODELS + 3):
        model = AIModelFactory(name=f"model {i:02d}")
        for _ in range(1 + (i == TOP_MODELS + 2)):  # the last one is the most used
            TaskRecordFactory(recorded_at=at(hours=1), model=model)

    comparison = sel.model_comparison(window=period_window("24h", NOW), filters=ALL)

    keys = [g.key for g in comparison.rows]
    assert keys[0] == f"model {TOP_MODELS + 2:02d}"
    assert keys[1:] == [f"model {i:02d}" for i in range(TOP_MODELS - 1)]
    assert (comparison.more_models, comparison.more_tasks, comparison.total) == (
        3,
        3,
        TOP_MODELS + 4,
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_trend_buckets_follow_the_current_time_zone(zone):
    TaskRecordFactory(recorded_at=datetime(2025, 10, 25, 23, 30, tzinfo=UTC))
    TaskRecordFactory(recorded_at=datetime(2025, 10, 26, 0, 30, tzinfo=UTC))
    window = Window(start=NOW - timedelta(days=5), end=NOW)

    with timezone.override(ZoneInfo(zone)):
        days = sel.trend_series(window=window, filters=ALL, granularity="day")
        hours = sel.trend_series(window=window, filters=ALL, granularity="hour")

    tz = ZoneInfo(zone)
    local_days = sorted(
        {
            datetime(2025, 10, 25, 23, 30, tzinfo=UTC).astimezone(tz).date(),
            datetime(2025, 10, 26, 0, 30, tzinfo=UTC).astimezone(tz).date(),
        }
    )
    assert [p.bucket.astimezone(tz).date() for p in days] == local_days
    assert sum(p.count for p in days) == 2
    assert [p.bucket.astimezone(UTC) for p in hours] == [
        datetime(2025, 10, 25, 23, tzinfo=UTC),
        datetime(2025, 10, 26, 0, tzinfo=UTC),
    ]


def test_filters_reject_unknown_values():
    with pytest.raises(ValueError):
        RecordFilters(task_type="cooking")
    with pytest.raises(ValueError):
        RecordFilters(origin="robot")
