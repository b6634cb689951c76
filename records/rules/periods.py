"""Time rules: dashboard periods (rolling windows that end now, not calendar days) and the
hour and day buckets that rollups and trends cut time into. Pure: no database, no settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

PERIODS: dict[str, timedelta | None] = {
    "24h": timedelta(hours=24),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "all": None,
}
DEFAULT_PERIOD = "7d"
HOURLY_PERIODS = frozenset({"24h", "3d"})
Granularity = Literal["hour", "day", "week", "month", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("hour", "day", "week", "month", "year")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_BUCKETS = 100  # a trend never plots many more points than this (docs/dashboard.md)
# What each bucket spans at most, to count a window's buckets without walking them.
_BUCKET_SPAN = {
    "hour": HOUR,
    "day": DAY,
    "week": 7 * DAY,
    "month": 31 * DAY,
    "year": 366 * DAY,
}
MIN_RANGE_YEAR, MAX_RANGE_YEAR = 2000, 2100


@dataclass(frozen=True)
class Window:
    """Records with ``start < recorded_at <= end``; ``start`` None means since the beginning."""

    start: datetime | None
    end: datetime

    def previous(self) -> Window | None:
        """The window of the same length just before this one (for change figures)."""
        if self.start is None:
            return None
        return Window(start=self.start - (self.end - self.start), end=self.start)


def period_window(period: str, now: datetime) -> Window:
    if period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}; use one of {', '.join(PERIODS)}.")
    length = PERIODS[period]
    return Window(start=None if length is None else now - length, end=now)


def days_window(days: int, now: datetime) -> Window:
    return Window(start=now - timedelta(days=days), end=now)


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def range_window(first: date, last: date, *, tz: tzinfo) -> Window:
    """The days ``first`` to ``last`` (both included) on the wall clock of ``tz``: every record
    from ``first``'s midnight up to, not including, the midnight after ``last``. (A window
    excludes its start and includes its end, hence the microsecond.)"""
    tick = timedelta(microseconds=1)
    end = _midnight(last + DAY, tz).astimezone(UTC) - tick
    return Window(start=_midnight(first, tz).astimezone(UTC) - tick, end=end)


def granularity_for(start: datetime, end: datetime) -> Granularity:
    """The finest bucket (hour, day, week, month, year) that cuts ``start``..``end`` into at
    most about MAX_BUCKETS points: 24 hours and 3 days by the hour, 7 to 90 days by the day, up
    to about two years by the week, up to about eight years by the month, longer by the year
    (a range may span the century MIN_RANGE_YEAR..MAX_RANGE_YEAR)."""
    span = end - start
    for unit in GRANULARITIES:
        if span / _BUCKET_SPAN[unit] <= MAX_BUCKETS:
            return unit
    return "year"


def truncate(value: datetime, unit: Granularity, *, tz: tzinfo = UTC) -> datetime:
    """The start of ``value``'s hour, day, week (Monday), month or year on the wall clock of
    ``tz``.

    UTC (the default) for rollup rows; the current time zone for what a reader sees.
    """
    start = value.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        return start
    day = start.replace(hour=0)
    if unit == "week":
        monday = day.date() - timedelta(days=day.weekday())
        return _midnight(monday, tz)
    if unit == "month":
        return _midnight(day.date().replace(day=1), tz)
    if unit == "year":
        return _midnight(day.date().replace(month=1, day=1), tz)
    return _midnight(day.date(), tz)


def _next_start(start: datetime, unit: Granularity) -> datetime:
    zone = start.tzinfo
    if unit == "hour":  # in UTC, so DST changes neither skip nor repeat an hour
        return (start.astimezone(UTC) + HOUR).astimezone(zone)
    # Days, weeks, months and years step in wall-clock time to stay on midnight.
    day = start.date()
    if unit == "year":
        return _midnight(day.replace(year=day.year + 1, month=1, day=1), zone)
    if unit == "day":
        return _midnight(day + DAY, zone)
    if unit == "week":
        return _midnight(day + 7 * DAY, zone)
    return _midnight((day.replace(day=1) + 32 * DAY).replace(day=1), zone)


def bucket_starts(
    first: datetime, last: datetime, unit: Granularity, *, tz: tzinfo
) -> Iterator[datetime]:
    """Every hour or day start of ``tz`` from ``first``'s bucket to ``last``'s, in order."""
    at, end = truncate(first, unit, tz=tz), truncate(last, unit, tz=tz)
    while at <= end:
        yield at
        at = _next_start(at, unit)
