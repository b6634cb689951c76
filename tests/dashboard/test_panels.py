"""Pure helpers behind the panels: formatting, deltas, trend gap filling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.formatting import MINUS, fmt_duration, score_tone
from dashboard.panels import delta, fill_buckets
from dashboard.selectors import TrendPoint


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0s"), (59.4, "59s"), (60, "1m 00s"), (754, "12m 34s"), (7325, "2h 02m")],
)
def test_fmt_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_delta_points_and_tone():
    up = delta(90.0, 80.0, previous_text="before: 80.0")
    down = delta(60.0, 80.0, higher_is_better=True)

    assert (up.text, up.direction, up.tone, up.title) == ("+10.0 pts", "up", "good", "before: 80.0")
    assert (down.text, down.tone) == (f"{MINUS}20.0 pts", "bad")
    assert delta(None, 3.0) is None and delta(3.0, None) is None


def test_delta_relative_flat_and_lower_is_better():
    assert delta(15, 10, digits=0, relative=True).text == "+5 (+50%)"
    assert delta(5, 0, digits=0, relative=True).text == "+5"
    assert delta(70.0, 70.0).text == "no change"
    faster = delta(300, 420, digits=0, higher_is_better=False, magnitude=fmt_duration)
    assert (faster.text, faster.tone) == (f"{MINUS}2m 00s", "good")


@pytest.mark.parametrize(
    ("value", "tone"), [(None, "none"), (95, "good"), (70, "fair"), (69.9, "poor")]
)
def test_score_tone(value, tone):
    assert score_tone(value) == tone


def test_fill_buckets_fills_gaps_with_empty_points():
    t0 = datetime(2025, 10, 26, 8, tzinfo=UTC)
    points = [
        TrendPoint(bucket=t0, count=2, avg_quality=80.0, avg_performance_index=75.0),
        TrendPoint(
            bucket=t0 + timedelta(hours=3), count=1, avg_quality=90.0, avg_performance_index=88.0
        ),
    ]

    filled = fill_buckets(
        points,
        first=t0 - timedelta(minutes=30),
        last=t0 + timedelta(hours=3, minutes=5),
        granularity="hour",
    )

    assert [p.count for p in filled] == [0, 2, 0, 0, 1]
    assert filled[2].avg_quality is None


def test_fill_buckets_for_all_time_starts_at_the_first_record():
    t0 = datetime(2025, 10, 20, tzinfo=UTC)
    points = [TrendPoint(bucket=t0, count=1, avg_quality=80.0, avg_performance_index=75.0)]

    filled = fill_buckets(
        points, first=None, last=t0 + timedelta(days=2, hours=5), granularity="day"
    )

    assert [p.count for p in filled] == [1, 0, 0]
    assert fill_buckets([], first=None, last=t0, granularity="day") == []
