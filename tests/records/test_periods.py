"""records.rules.periods: hour and day buckets, in UTC (rollups) and in a reader's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from records.rules.periods import bucket_starts, truncate

BERLIN = ZoneInfo("Europe/Berlin")


def test_truncate_defaults_to_utc_hours_and_days():
    moment = datetime(2026, 3, 29, 1, 45, 12, 345, tzinfo=BERLIN)  # 00:45:12 UTC

    assert truncate(moment, "hour") == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert truncate(moment, "day") == datetime(2026, 3, 29, tzinfo=UTC)
    assert truncate(moment, "hour").tzinfo is UTC


def test_truncate_to_a_local_day_uses_the_zones_midnight():
    moment = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already the 29th in Berlin

    day = truncate(moment, "day", tz=BERLIN)

    assert day == datetime(2026, 3, 29, tzinfo=BERLIN)
    assert day.astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_day_buckets_stay_on_local_midnight_across_a_dst_change():
    days = list(
        bucket_starts(
            datetime(2026, 3, 28, 12, tzinfo=BERLIN),
            datetime(2026, 3, 30, 12, tzinfo=BERLIN),
            "day",
            tz=BERLIN,
        )
    )

    assert [d.isoformat() for d in days] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]


def test_hour_buckets_neither_skip_nor_repeat_an_hour_when_clocks_go_back():
    first = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 01:00 in Berlin, summer time
    last = datetime(2026, 10, 25, 3, 0, tzinfo=UTC)  # 04:00 in Berlin, winter time

    hours = list(bucket_starts(first, last, "hour", tz=BERLIN))

    instants = [h.astimezone(UTC).hour for h in hours]
    assert instants == [23, 0, 1, 2, 3]  # five distinct UTC hours, 02:00 local twice
    assert [h.hour for h in hours] == [1, 2, 2, 3, 4]
