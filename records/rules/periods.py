"""Time rules: dashboard periods (rolling windows that end now, not calendar days) and the
hour and day buckets that rollups and trends cut time into. Pure: no database, no settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
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
Granularity = Literal["hour", "day"]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


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


def truncate(value: datetime, unit: Granularity, *, tz: tzinfo = UTC) -> datetime:
    """The start of ``value``'s hour or day on the wall clock of ``tz``.

    UTC (the default) for rollup rows; the current time zone for what a reader sees.
    """
    start = value.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    return start if unit == "hour" else start.replace(hour=0)


def _next_start(start: datetime, unit: Granularity) -> datetime:
    zone = start.tzinfo
    if unit == "hour":  # in UTC, so DST changes neither skip nor repeat an hour
        return (start.astimezone(UTC) + HOUR).astimezone(zone)
    # Days step in wall-clock time (aware arithmetic within one zone) to stay on midnight.
    return (start.replace(tzinfo=None) + DAY).replace(tzinfo=zone).astimezone(zone)


def bucket_starts(
    first: datetime, last: datetime, unit: Granularity, *, tz: tzinfo
) -> Iterator[datetime]:
    """Every hour or day start of ``tz`` from ``first``'s bucket to ``last``'s, in order."""
    at, end = truncate(first, unit, tz=tz), truncate(last, unit, tz=tz)
    while at <= end:
        yield at
        at = _next_start(at, unit)
