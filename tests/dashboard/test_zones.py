"""Every time the server prints names its zone, and day buckets say whose days they are.

Times are rendered in UTC with "UTC" after them (the page's script rewrites them in the reader's
zone, with that zone's name); the trend's day buckets are calendar days of the server's
``TIME_ZONE``, and the trend panel and its chart data name that zone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.dashboard.html import parse
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db


def _chart(content: bytes) -> dict:
    return json.loads(parse(content).one("script", attr="type").text)


def test_record_times_carry_their_zone(client):
    record = TaskRecordFactory(minutes_ago=90)
    doc = parse(client.get("/").content)
    (row,) = doc.select("tr", attr="data-record-id")
    time = row.one("time")
    assert time.text.endswith(" UTC")
    assert time.text == record.recorded_at.astimezone(ZoneInfo("UTC")).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    assert time.attrs["datetime"].endswith("Z")

    detail = parse(client.get(f"/records/{record.record_id}/").content)
    times = detail.select("time")
    assert times and all(t.text.endswith(" UTC") for t in times)


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_day_buckets_are_the_servers_days_and_say_so(client, settings, zone):
    settings.TIME_ZONE = zone
    # 11:30 UTC is the next calendar day in Auckland and the same day in Los Angeles.
    at = (timezone.now() - timedelta(days=3)).replace(hour=11, minute=30, second=0, microsecond=0)
    TaskRecordFactory(recorded_at=at)

    chart = _chart(client.get("/fragments/trend/", {"period": "30d"}).content)
    assert chart["unit"] == "day" and chart["zone"] == zone
    (label,) = [day for day, n in zip(chart["labels"], chart["count"], strict=True) if n]
    assert label == at.astimezone(ZoneInfo(zone)).date().isoformat()

    page = parse(client.get("/", {"period": "30d"}).content)
    sub = page.one(attr="data-bucket-zone")
    assert sub.text.endswith(f"per day · days in {zone}")


def test_hour_buckets_are_instants_shown_in_the_readers_zone(client, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    TaskRecordFactory(minutes_ago=30)
    chart = _chart(client.get("/fragments/trend/", {"period": "24h"}).content)
    assert chart["unit"] == "hour"
    assert all(bucket.endswith("Z") for bucket in chart["buckets"])
    sub = parse(client.get("/", {"period": "24h"}).content).one(attr="data-bucket-zone")
    assert sub.text.endswith("per hour · hours in your time zone")
