"""A search's figures come from a copy of its matches (records.stats.searched, issue 17).

The copy stores what each record adds to every counter (aggregates.row_counters); these tests
hold its sums equal to the ordinary reads of the very same records (rollups and edge records),
on SQLite and on PostgreSQL, and check that the copies of earlier views do not pile up.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.models import SearchedRecord
from records.rules.periods import period_window, truncate
from records.stats import aggregates
from records.stats.filters import RecordFilters
from records.stats.insights import task_insights
from records.stats.searched import KEPT_SLOTS, figure_filters, figure_filters_pair
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 60


@pytest.fixture
def records():
    """Records in project "p1" all say "zeta" (and only they do), with every kind of value a
    counter rounds or skips: scores with more decimals than tenths, missing durations, costs,
    token counts and efficiencies, durations in several buckets; in this week and the last."""
    made = []
    for i, minutes in enumerate((30, 2 * DAY, 5 * DAY, 8 * DAY, 12 * DAY)):
        for j, (duration, cost, tokens) in enumerate(
            ((12.5, 0.0123456, 1200), (None, None, None), (4000.0, 1.5, None), (95.25, None, 7))
        ):
            made.append(
                TaskRecordFactory(
                    minutes_ago=minutes + j,
                    project="p1",
                    description=f"Zeta task {i}-{j}",
                    task_type=("debugging", "coding")[j % 2],
                    success=j != 2,
                    quality_score=59.375 + i * 7.05 + j,
                    performance_index=55.55 + j,
                    time_efficiency=None if j == 1 else 80.04 + i,
                    duration_seconds=duration,
                    cost_usd=cost,
                    input_tokens=tokens,
                    output_tokens=None if tokens is None else tokens // 2,
                    skills=["code-analysis", f"skill-{j}"],
                    agents=[f"agent-{i % 2}"],
                )
            )
    for minutes in (40, 3 * DAY, 9 * DAY):  # other projects, other words
        TaskRecordFactory(minutes_ago=minutes, description="Write the docs", skills=["docs"])
    return made


def _totals(window, filters, subject="records", by=("task_type",)) -> dict:
    rows = aggregates.totals(
        window=window,
        filters=filters,
        by=by,
        subject=subject,
        with_buckets=subject == "records",
    )
    return {tuple(row.key.values()): row for row in rows}


@pytest.mark.parametrize("period", ["7d", "30d", "all"])
@pytest.mark.parametrize(
    ("subject", "by"),
    [
        ("records", ("task_type",)),
        ("records", ("model", "auto_generated")),
        ("records", ("day",)),
        ("skills", ("skill",)),
        ("agents", ("task_type", "agent")),
    ],
)
def test_the_copy_sums_as_the_records_do(records, period, subject, by):
    window = period_window(period, timezone.now())
    searched = figure_filters(window, RecordFilters(search="zeta"))

    assert searched.filters.searched is not None  # read from a copy
    expected = _totals(window, RecordFilters(project="p1"), subject, by)
    assert expected  # the test reads something
    assert _totals(window, searched.filters, subject, by) == expected


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
@pytest.mark.parametrize("unit", ["day", "hour"])
def test_the_copys_hours_and_days_are_the_readers(settings, zone, unit):
    """SQLite groups a copy's records by their UTC quarter hour and folds those into the
    reader's hours and days in Python; the buckets are those of each record's own time, also in
    zones a quarter or half an hour off UTC, on either side of their midnight."""
    settings.TIME_ZONE = zone
    tz = ZoneInfo(zone)
    midnight = datetime.combine(
        (timezone.now() - timedelta(days=2)).astimezone(tz).date(), datetime.min.time(), tz
    )
    tick = timedelta(microseconds=1)
    times = []
    for offset in (
        -timedelta(minutes=15),
        -tick,
        timedelta(0),
        timedelta(minutes=14),
        timedelta(minutes=45) - tick,
        timedelta(minutes=45),
    ):
        times.append(midnight + offset)
        TaskRecordFactory(recorded_at=midnight + offset, description="Zeta at midnight")
    TaskRecordFactory(recorded_at=midnight, description="Other words")
    window = period_window("7d", timezone.now())
    searched = figure_filters(window, RecordFilters(search="zeta"))

    rows = aggregates.totals(window=window, filters=searched.filters, by=(unit,))
    found = {row.key[unit]: row.count for row in rows}
    assert found == Counter(truncate(at, unit, tz=tz) for at in times)
    assert len(found) == 2  # the quarter before midnight is the day (and hour) before


def test_the_previous_window_has_its_own_matches(records):
    window = period_window("7d", timezone.now())
    previous = window.previous()
    now, before = figure_filters_pair(window, previous, RecordFilters(search="zeta"))
    if before is None:  # SQLite copies the window before only when asked
        before = figure_filters(previous, RecordFilters(search="zeta"))

    for searched, span in ((now, window), (before, previous)):
        assert _totals(span, searched.filters) == _totals(span, RecordFilters(project="p1"))
    counts = [
        sum(t.count for t in _totals(span, searched.filters).values())
        for span, searched in ((window, now), (previous, before))
    ]
    assert counts == [12, 8]  # three days of this week's matches, two of the week before


def test_the_cap_keeps_the_newest_matches(records, monkeypatch):
    from records.stats import filters, searched

    monkeypatch.setattr(filters, "SEARCH_CAP", 5)
    monkeypatch.setattr(searched, "SEARCH_CAP", 5)
    window = period_window("all", timezone.now())
    found = figure_filters(window, RecordFilters(search="zeta"))

    assert found.capped and found.cap == 5
    copied = SearchedRecord.objects.filter(slot=found.filters.searched)
    newest = sorted(records, key=lambda r: (r.recorded_at, r.id), reverse=True)[:5]
    assert sorted(copied.values_list("source", flat=True)) == sorted(r.id for r in newest)


@pytest.mark.parametrize(("cap", "copies"), [(5, 1), (10, 2)])
def test_a_long_windows_newest_matches_are_looked_for_in_its_last_days_first(
    records, monkeypatch, cap, copies
):
    """PostgreSQL reads the last RECENT_DAYS of a longer window first (three days here, which
    hold eight matches): enough for a cap of five, so one copy; too few for ten, so the window
    is copied again whole. Either way the copy holds the window's newest matches."""
    from datetime import timedelta

    from records.stats import filters, searched

    monkeypatch.setattr(filters, "SEARCH_CAP", cap)
    monkeypatch.setattr(searched, "SEARCH_CAP", cap)
    monkeypatch.setattr(searched, "RECENT_DAYS", timedelta(days=3))
    window = period_window("all", timezone.now())
    with CaptureQueriesContext(connection) as captured:
        found = figure_filters(window, RecordFilters(search="zeta"))

    assert found.capped
    copied = SearchedRecord.objects.filter(slot=found.filters.searched)
    newest = sorted(records, key=lambda r: (r.recorded_at, r.id), reverse=True)[:cap]
    assert sorted(copied.values_list("source", flat=True)) == sorted(r.id for r in newest)
    inserts = [q for q in captured if q["sql"].startswith('INSERT INTO "perfsite_searched_record"')]
    assert len(inserts) == (copies if connection.vendor == "postgresql" else 1)


def test_copies_of_earlier_views_do_not_pile_up(client, records):
    window = period_window("30d", timezone.now())
    for _ in range(4 * KEPT_SLOTS):  # outside requests: every KEPT_SLOTS copies, older go
        figure_filters(window, RecordFilters(search="zeta"))
    assert SearchedRecord.objects.count() <= 2 * KEPT_SLOTS * 20  # of 4 * KEPT_SLOTS * 20

    for _ in range(3):  # a request's first copy deletes what earlier views left
        assert client.get("/", {"q": "zeta", "period": "30d"}).status_code == 200
        assert SearchedRecord.objects.count() == 20  # the 30 days' matches; none before them


@pytest.mark.parametrize("period", ["30d", "all"])
def test_the_copy_gives_the_insights_of_the_records(records, period):
    """Rankings, the heat map and the trends of the latest scores (read from the copy in one
    numbered pass, records.stats.insights._latest_scores) as from the records themselves."""
    window = period_window(period, timezone.now())
    searched = figure_filters(window, RecordFilters(search="zeta")).filters
    found = task_insights(window=window, filters=searched)
    expected = task_insights(window=window, filters=RecordFilters(project="p1"))

    assert found.type_trends == expected.type_trends
    assert set(found.type_trends.values()) - {None}  # a trend is read (4 scores or more)
    assert found.model_trends == expected.model_trends
    assert found.summary() == expected.summary()
    assert found.heatmap == expected.heatmap


@pytest.mark.parametrize(("panel", "copies_links"), [("kpis", False), ("insights", True)])
def test_links_are_copied_only_for_a_panel_that_reads_them(client, records, panel, copies_links):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/fragments/{panel}/", {"q": "zeta", "period": "30d"})

    assert response.status_code == 200
    inserts = [q["sql"] for q in captured if q["sql"].startswith("INSERT INTO")]
    assert any("perfsite_searched_record" in sql for sql in inserts)
    assert any("perfsite_searched_skill" in sql for sql in inserts) is copies_links
    assert any("perfsite_searched_agent" in sql for sql in inserts) is copies_links
