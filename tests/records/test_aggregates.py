"""Rollup-backed aggregates equal a direct aggregate over the records, for any window cut."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Avg, Count, Q

from records.aggregates import median_duration, overall, totals
from records.demo import seed_demo
from records.filters import RecordFilters
from records.models import RecordSkill, TaskRecord
from records.periods import Window
from records.recorder import record_task_performance

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 14, 37, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """One shared history for the module's read-only tests (seeding is the slow part)."""
    with django_db_blocker.unblock(), transaction.atomic():
        _make_history()
        yield
        transaction.set_rollback(True)  # leave nothing behind for other modules


def _make_history():
    seed_demo(records=1500, seed=11, now=NOW)
    # Records exactly on hour and day boundaries, where cuts are easiest to get wrong.
    for moment in [
        NOW - timedelta(days=7),
        NOW.replace(minute=0, second=0, microsecond=0),
        NOW.replace(hour=0, minute=0, second=0, microsecond=0),
        NOW,
        NOW + timedelta(minutes=5),  # in the future: outside every window ending now
    ]:
        record_task_performance(
            {"task_type": "coding", "description": "edge", "recorded_at": moment.isoformat()},
            "GLM 4.6",
        )


WINDOWS = [
    Window(start=NOW - timedelta(hours=24), end=NOW),
    Window(start=NOW - timedelta(days=3), end=NOW),
    Window(start=NOW - timedelta(days=7), end=NOW),
    Window(start=NOW - timedelta(days=30), end=NOW),
    Window(start=None, end=NOW),
    Window(start=NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=2), end=NOW),
    Window(start=NOW - timedelta(minutes=20), end=NOW),
    Window(start=NOW - timedelta(days=14), end=NOW - timedelta(days=7)),
]
FILTERS = [
    RecordFilters(),
    RecordFilters(model="GLM 4.6"),
    RecordFilters(task_type="debugging", source="auto"),
    RecordFilters(source="manual"),
]


def direct(window, filters, prefix=""):
    q = Q(**{f"{prefix}recorded_at__lte": window.end})
    if window.start is not None:
        q &= Q(**{f"{prefix}recorded_at__gt": window.start})
    if filters.model:
        q &= Q(**{f"{prefix}model__name": filters.model})
    if filters.task_type:
        q &= Q(**{f"{prefix}task_type": filters.task_type})
    if filters.source is not None:
        q &= Q(**{f"{prefix}auto_generated": filters.source == "auto"})
    return q


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("filters", FILTERS)
def test_overall_totals_match_the_records(history, window, filters):
    qs = TaskRecord.objects.filter(direct(window, filters))
    expected = qs.aggregate(
        n=Count("pk"),
        q=Avg("quality_score"),
        p=Avg("performance_index"),
        ok=Count("pk", filter=Q(success=True)),
        passed=Count("pk", filter=Q(quality_score__gte=70)),
    )
    got = overall(window=window, filters=filters)
    assert got.count == expected["n"]
    assert got.success_count == expected["ok"]
    assert got.pass_count == expected["passed"]
    if expected["n"]:
        assert got.avg_quality == pytest.approx(expected["q"], abs=1e-9)
        assert got.avg_performance == pytest.approx(expected["p"], abs=1e-9)


@pytest.mark.parametrize("window", WINDOWS[:5])
def test_grouped_totals_match_the_records(history, window):
    expected = {
        (row["task_type"], row["model__name"]): row["n"]
        for row in TaskRecord.objects.filter(direct(window, RecordFilters()))
        .values("task_type", "model__name")
        .annotate(n=Count("pk"))
    }
    got = {
        (t.key["task_type"], t.key["model"]): t.count
        for t in totals(window=window, by=("task_type", "model"))
    }
    assert got == expected


@pytest.mark.parametrize("window", WINDOWS[:5])
def test_skill_totals_match_the_links(history, window):
    expected = {
        row["skill__name"]: row["n"]
        for row in RecordSkill.objects.filter(direct(window, RecordFilters(), "record__"))
        .values("skill__name")
        .annotate(n=Count("pk"))
    }
    got = {t.key["skill"]: t.count for t in totals(window=window, by=("skill",), subject="skills")}
    assert got == expected


def test_daily_and_hourly_series_add_up(history):
    window = WINDOWS[2]
    days = totals(window=window, by=("day",))
    hours = totals(window=WINDOWS[1], by=("hour",))
    assert sum(t.count for t in days) == overall(window=window).count
    assert sum(t.count for t in hours) == overall(window=WINDOWS[1]).count
    assert all(t.key["hour"].minute == 0 for t in hours)


def test_median_is_exact_for_small_sets_and_close_for_large(history, monkeypatch):
    window = WINDOWS[3]
    durations = list(
        TaskRecord.objects.filter(
            direct(window, RecordFilters()), duration_seconds__isnull=False
        ).values_list("duration_seconds", flat=True)
    )
    value, exact = median_duration(window=window)
    assert exact
    assert value == pytest.approx(statistics.median(durations))
    monkeypatch.setattr("records.aggregates.EXACT_MEDIAN_LIMIT", 10)
    estimate, exact = median_duration(window=window)
    assert not exact
    assert estimate == pytest.approx(statistics.median(durations), rel=0.25)


def test_median_without_durations_is_none(history):
    empty = Window(start=NOW + timedelta(hours=1), end=NOW + timedelta(days=2))
    assert median_duration(window=empty) == (None, True)
