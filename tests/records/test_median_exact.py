"""The exact median reads only the duration buckets around the middle; it must still be exact."""

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from records.models import DURATION_BUCKETS
from records.rules.periods import Window
from records.stats.aggregates import median_duration
from records.stats.filters import RecordFilters
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 14, 37, 12, tzinfo=UTC)
WINDOW = Window(start=NOW - timedelta(days=7), end=NOW)


def record(duration, *, task_type="coding", hours_ago=1.0):
    return TaskRecordFactory(
        duration_seconds=duration, task_type=task_type, recorded_at=NOW - timedelta(hours=hours_ago)
    )


@pytest.mark.parametrize(
    "durations",
    [
        [5.0],
        [30.0, 30.1],  # the two middle values straddle a bucket boundary
        [1.0, 30.0, 60.0, 61.0],
        [2.0, 2.0, 7200.0, 30000.0, 40000.0],  # the middle in the open-ended last bucket
        [float(b) for b in DURATION_BUCKETS] + [0.5, 99999.0],  # every value on a boundary
        [10.0, 20.0, 5000.0, 5001.0, 5002.0, 6000.0],
    ],
)
def test_median_equals_the_middle_of_the_sorted_durations(durations):
    for hours_ago, duration in enumerate(durations, start=1):
        record(duration, hours_ago=hours_ago * 0.7)
    record(None)  # no duration: not counted
    record(9.0, hours_ago=24 * 8)  # outside the window

    value, exact = median_duration(window=WINDOW)

    assert exact
    assert value == pytest.approx(statistics.median(durations))


def test_median_respects_filters():
    for duration in (10.0, 700.0, 800.0):
        record(duration, task_type="testing")
    for duration in (1.0, 2.0, 3.0, 4.0):
        record(duration, task_type="coding")

    value, exact = median_duration(window=WINDOW, filters=RecordFilters(task_type="testing"))

    assert exact
    assert value == 700.0
