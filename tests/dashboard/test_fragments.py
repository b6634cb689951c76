"""``/fragments/<panel>/``: same numbers as the page, bounded queries, keyset "load more"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.cursor import Cursor
from tests.dashboard.html import kpi_value, parse, record_ids, type_counts
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

PANELS = ("kpis", "recent-records", "task-types", "models", "trend", "insights", "alerts")
# Queries per fragment: the check of ?model= when one is given, then the panel's own.
# Aggregates read rollups and the window's partial hours: two queries each, whatever the rows.
MAX_QUERIES = {
    "kpis": 8,
    "recent-records": 2,
    "task-types": 3,
    "models": 3,
    "trend": 3,
    # model totals (2), skill and agent totals (3 each: day rollups, edge links added, edge
    # links taken away from a day row) and two UNION ALL reads for the trends
    "insights": 11,
    "alerts": 1,  # the firing rules (their count too only when the banner is full)
}
# The page: the model filter's choices, has-records check, then every panel's own (kpis compare
# with the previous window, so short periods cost the most) and the alerts banner: 27 at most,
# whatever the rows.
PAGE_QUERIES = 27


def make_records(n: int, *, start: int = 0) -> list:
    models = [AIModelFactory(name=name) for name in ("GLM 4.6", "Claude Sonnet 4.5", "GPT-5")]
    types = ["coding", "debugging", "testing", "analysis"]
    return [
        TaskRecordFactory(
            minutes_ago=start + i * 7,
            model=models[i % 3],
            task_type=types[i % 4],
            auto_generated=i % 3 != 0,
            skills=[f"skill-{i % 5}", "code-analysis"],
            agents=[f"agent-{i % 2}"],
            issues=["x"] * (i % 4),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("panel", PANELS)
def test_fragment_is_a_partial_not_a_page(client, panel):
    make_records(3)

    response = client.get(f"/fragments/{panel}/", {"period": "24h"})

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b"<body" not in response.content


def test_unknown_panel_is_404(client):
    assert client.get("/fragments/nope/").status_code == 404
    assert client.get("/fragments/dashboard/").status_code == 404


@pytest.mark.parametrize("panel", PANELS)
def test_fragment_query_count_does_not_grow_with_rows(client, panel, django_assert_max_num_queries):
    make_records(3)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/fragments/{panel}/", {"period": "30d", "model": "GLM 4.6"})
    make_records(60, start=1)

    with django_assert_max_num_queries(MAX_QUERIES[panel]):
        response = client.get(f"/fragments/{panel}/", {"period": "30d"})

    assert response.status_code == 200
    with CaptureQueriesContext(connection) as many:
        client.get(f"/fragments/{panel}/", {"period": "30d", "model": "GLM 4.6"})
    assert len(many) == len(few)


@pytest.mark.parametrize("period", ["24h", "7d", "all"])
def test_full_page_query_count_is_bounded(client, period, django_assert_max_num_queries):
    make_records(80)

    with django_assert_max_num_queries(PAGE_QUERIES):
        assert client.get("/", {"period": period}).status_code == 200


def test_fragments_match_the_page(client):
    make_records(12)
    params = {"period": "3d", "source": "auto"}
    page = parse(client.get("/", params).content)

    recent = parse(client.get("/fragments/recent-records/", params).content)
    kpis = parse(client.get("/fragments/kpis/", params).content)
    types = parse(client.get("/fragments/task-types/", params).content)

    assert record_ids(recent) == record_ids(page)
    assert kpi_value(kpis, "tasks") == kpi_value(page, "tasks")
    assert type_counts(types) == type_counts(page)


def load_all(client, params) -> list[str]:
    """Follow "load more" from the first page to the end, as htmx would."""
    doc = parse(client.get("/fragments/recent-records/", params).content)
    ids = record_ids(doc)
    while more := doc.select("tr", cls="load-more-row"):
        url = more[0].one("a").attrs["hx-get"]
        doc = parse(client.get(url).content)
        assert not doc.select("table"), "load more answers rows only"
        ids += record_ids(doc)
    return ids


def test_load_more_walks_every_record_once_in_order(client):
    now = timezone.now()
    same_time = now - timedelta(hours=3)
    records = make_records(40)
    # Ten records share one timestamp across a page boundary: the id breaks the tie.
    records += [TaskRecordFactory(recorded_at=same_time) for _ in range(10)]
    expected = [
        r.record_id for r in sorted(records, key=lambda r: (r.recorded_at, r.pk), reverse=True)
    ]

    ids = load_all(client, {"period": "30d"})

    assert ids == expected
    assert len(set(ids)) == 50


def test_load_more_respects_filters(client):
    records = make_records(60)
    expected = [r.record_id for r in records if r.auto_generated and r.model.name == "GPT-5"]

    assert load_all(client, {"period": "30d", "source": "auto", "model": "GPT-5"}) == expected


def test_load_more_uses_keyset_not_offset(client):
    make_records(30)
    first = parse(client.get("/fragments/recent-records/").content)
    url = first.one("tr", cls="load-more-row").one("a").attrs["hx-get"]

    with CaptureQueriesContext(connection) as queries:
        client.get(url)

    record_queries = [q["sql"] for q in queries if "records_taskrecord" in q["sql"]]
    assert record_queries
    assert not [sql for sql in record_queries if "OFFSET" in sql.upper()]


def test_load_more_link_works_without_javascript(client):
    make_records(30)
    first = parse(client.get("/").content)
    href = first.one("tr", cls="load-more-row").one("a").attrs["href"]

    second = parse(client.get(href).content)

    assert href.startswith("/?cursor=")
    assert len(record_ids(second)) == 5
    assert not set(record_ids(second)) & set(record_ids(first))
    assert "Back to the newest" in second.text


def test_refresh_keeps_the_rows_a_reader_loaded(client):
    make_records(60)

    doc = parse(client.get("/fragments/recent-records/", {"rows": "50", "period": "30d"}).content)

    assert len(record_ids(doc)) == 50


def test_new_records_appear_on_the_next_poll(client):
    make_records(5)
    before = record_ids(parse(client.get("/fragments/recent-records/").content))

    fresh = TaskRecordFactory(minutes_ago=0)
    after = record_ids(parse(client.get("/fragments/recent-records/").content))

    assert after == [fresh.record_id, *before]


def test_cursor_round_trips():
    cursor = Cursor(value=timezone.now(), id=123)

    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("bad", ["", "1-", "-1", "a-b", "1.5-2", "9" * 30 + "-1"])
def test_bad_cursor_is_a_value_error(bad):
    with pytest.raises(ValueError):
        Cursor.decode(bad)


def test_trend_buckets_per_hour_for_short_periods_and_per_day_otherwise(client):
    make_records(10)

    hourly = parse(client.get("/fragments/trend/", {"period": "24h"}).content)
    daily = parse(client.get("/fragments/trend/", {"period": "30d"}).content)

    import json

    hours = json.loads(hourly.one("script", attr="type").text)
    days = json.loads(daily.one("script", attr="type").text)
    assert hours["unit"] == "hour" and len(hours["buckets"]) in (24, 25)
    assert days["unit"] == "day" and len(days["buckets"]) in (30, 31)
    assert sum(hours["count"]) == 10 and sum(days["count"]) == 10
    assert hourly.one("canvas").attrs["data-chart"] == "trend"


def test_models_chart_data_matches_the_table(client):
    import json

    make_records(9)

    doc = parse(client.get("/fragments/models/", {"period": "30d"}).content)

    chart = json.loads(doc.one("script", attr="type").text)
    rows = {
        tr.attrs["data-model"]: int(tr.one(attr="data-count").attrs["data-count"])
        for tr in doc.select("tr", attr="data-model")
    }
    assert (
        dict(zip(chart["labels"], chart["count"], strict=True))
        == rows
        == {
            "GLM 4.6": 3,
            "Claude Sonnet 4.5": 3,
            "GPT-5": 3,
        }
    )
