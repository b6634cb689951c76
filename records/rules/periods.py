"""Dashboard periods: rolling windows that end now (not calendar days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
