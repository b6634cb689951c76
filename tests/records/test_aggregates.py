"""Rollup-backed aggregates equal a direct aggregate over the records, for any window cut."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Round

from records.models import RecordAgent, RecordSkill, TaskRecord
from records.recorder import record_task_performance
from records.recording.demo import seed_demo
from records.rules.periods import Window
from records.stats.aggregates import median_duration, overall, totals
from records.stats.filters import RecordFilters

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
    # Whole months (month rollup rows) with partial months of days and hours at both edges.
    Window(start=NOW - timedelta(days=60), end=NOW),
    Window(start=NOW - timedelta(days=75), end=NOW - timedelta(days=20, hours=5)),
    # Edges exactly on month starts.
    Window(start=None, end=datetime(2026, 5, 1, tzinfo=UTC)),
    Window(start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 5, 1, tzinfo=UTC)),
]
FILTERS = [
    RecordFilters(),
    RecordFilters(model="GLM 4.6"),
    RecordFilters(task_type="debugging", origin="auto"),
    RecordFilters(origin="manual"),
    RecordFilters(project="storefront"),
    RecordFilters(project="billing-service", model="Claude Sonnet 4.5", origin="auto"),
]


def direct(window, filters, prefix=""):
    q = Q(**{f"{prefix}recorded_at__lte": window.end})
    if window.start is not None:
        q &= Q(**{f"{prefix}recorded_at__gt": window.start})
    if filters.model:
        q &= Q(**{f"{prefix}model__name": filters.model})
    if filters.task_type:
        q &= Q(**{f"{prefix}task_type": filters.task_type})
    if filters.origin is not None:
        q &= Q(**{f"{prefix}auto_generated": filters.origin == "auto"})
    if filters.project:
        q &= Q(**{f"{prefix}project": filters.project})
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


PROJECT_GROUPS = [("task_type",), ("project", "auto_generated"), ("project", "model")]


@pytest.mark.parametrize("window", WINDOWS[:5])
@pytest.mark.parametrize("by", PROJECT_GROUPS)
@pytest.mark.parametrize("filters", [RecordFilters(), FILTERS[4], FILTERS[2]])
def test_grouped_totals_by_project_and_type_match_the_records(history, window, by, filters):
    """Without a model filter or group the totals come from TypeRollup, with one from Rollup:
    both equal the records (project, auto and task type are in both keys)."""
    fields = [{"model": "model__name"}.get(name, name) for name in by]
    expected = {
        tuple(row[f] for f in fields): (row["n"], row["q"])
        for row in TaskRecord.objects.filter(direct(window, filters))
        .values(*fields)
        .annotate(n=Count("pk"), q=Sum(Round(F("quality_score") * 10)))
    }
    got = {
        tuple(t.key[name] for name in by): (t.count, t.quality_tenths)
        for t in totals(window=window, filters=filters, by=by)
    }
    assert expected and got == expected


# Skill and agent rollups keep days: a partial day at an edge is read from the links when the
# window holds less than half of it, else as the day's row minus the links outside the window.
# These cuts take each branch at each edge (NOW is 14:37, past mid-day).
MIDNIGHT = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
DAY_EDGE_WINDOWS = [
    Window(
        start=MIDNIGHT - timedelta(days=2) + timedelta(hours=3), end=MIDNIGHT + timedelta(hours=9)
    ),
    Window(start=MIDNIGHT - timedelta(days=1) + timedelta(hours=20), end=NOW),
    Window(start=MIDNIGHT - timedelta(days=3), end=MIDNIGHT - timedelta(days=1)),
    Window(start=MIDNIGHT + timedelta(hours=2), end=NOW),  # both edges in one day
]


@pytest.mark.parametrize("window", WINDOWS + DAY_EDGE_WINDOWS)
@pytest.mark.parametrize("subject", ["skills", "agents"])
@pytest.mark.parametrize("filters", [*FILTERS[:3], *FILTERS[4:]])
def test_skill_and_agent_totals_match_the_links(history, window, subject, filters):
    name, links = ("skill", RecordSkill) if subject == "skills" else ("agent", RecordAgent)
    expected = {
        row[f"{name}__name"]: (row["n"], row["ok"], row["q"])
        for row in links.objects.filter(direct(window, filters, "record__"))
        .values(f"{name}__name")
        .annotate(
            n=Count("pk"),
            ok=Count("pk", filter=Q(record__success=True)),
            q=Sum(Round(F("record__quality_score") * 10)),
        )
    }
    got = {
        t.key[name]: (t.count, t.success_count, t.quality_tenths)
        for t in totals(window=window, filters=filters, by=(name,), subject=subject)
    }
    if filters == RecordFilters():
        assert expected  # every cut holds some links, so an empty answer cannot pass
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
    monkeypatch.setattr("records.stats.aggregates.EXACT_MEDIAN_LIMIT", 10)
    estimate, exact = median_duration(window=window)
    assert not exact
    assert estimate == pytest.approx(statistics.median(durations), rel=0.25)


def test_median_without_durations_is_none(history):
    empty = Window(start=NOW + timedelta(hours=1), end=NOW + timedelta(days=2))
    assert median_duration(window=empty) == (None, True)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("filters", [*FILTERS[:2], FILTERS[4]])
def test_cost_tokens_and_spread_match_the_records(history, window, filters):
    """Cost, tokens and the standard deviations read from the rollups (plus edge records) equal
    a direct computation over the same records."""
    rows = list(
        TaskRecord.objects.filter(direct(window, filters)).values_list(
            "quality_score",
            "performance_index",
            "duration_seconds",
            "cost_usd",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_creation_tokens",
        )
    )
    got = overall(window=window, filters=filters)
    costs = [r[3] for r in rows if r[3] is not None]
    assert got.cost_count == len(costs)
    assert got.cost_pass_count == sum(r[3] is not None and r[0] >= 70 for r in rows)
    assert got.total_cost == (pytest.approx(sum(costs), abs=1e-5) if costs else None)
    assert got.tokens_input == sum(r[4] or 0 for r in rows)
    assert got.total_tokens == sum(sum(n or 0 for n in r[4:]) for r in rows)
    assert got.tokens_count == sum(any(n is not None for n in r[4:]) for r in rows)
    if len(rows) < 2:
        return
    for metric, values, tolerance in [
        ("quality", [r[0] for r in rows], 1e-6),
        ("performance", [r[1] for r in rows], 1e-6),
        ("duration", [r[2] for r in rows if r[2] is not None], 0.06),  # tenths of seconds
        ("cost", costs, 1e-4),  # squares kept in units of $0.0001
    ]:
        sample = got.sample(metric)
        assert sample.n == len(values)
        if len(values) < 2:
            continue
        assert sample.mean == pytest.approx(statistics.fmean(values), abs=1e-3)
        assert sample.sd == pytest.approx(statistics.stdev(values), abs=tolerance)


def test_cost_per_passing_task_counts_the_failed_tasks_cost(db):
    for quality, cost in [(90, 0.30), (40, 0.50), (80, 0.20)]:
        record_task_performance(
            {"task_type": "coding", "quality_score": quality, "cost_usd": cost}, "GLM 4.6"
        )
    now = datetime.now(UTC)
    got = overall(window=Window(start=now - timedelta(minutes=5), end=now))
    assert got.pass_count == 2
    assert got.cost_per_task == pytest.approx(1.0 / 3)
    assert got.cost_per_pass == pytest.approx(0.5)
