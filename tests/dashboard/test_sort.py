"""``?sort=``: every table sorts by its columns on the server; the recent records keep keyset
pagination under every sort, ties and NULLs included, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.cursor import SORT_COLUMNS, SORTS, Cursor
from dashboard.forms import IGNORED_MESSAGES
from dashboard.selectors import sorted_records
from records.rules.periods import period_window
from records.stats import filters
from records.stats.filters import RecordFilters
from tests.dashboard.html import parse, record_ids
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def many():
    return make_sort_records()


def make_sort_records():
    """60 records: few distinct values (ties everywhere), NULL durations and efficiencies,
    three models, four types, some recorded at the very same instant."""
    models = [AIModelFactory(name=n) for n in ("GLM 4.6", "Claude Sonnet 4.5", "GPT-5")]
    types = ["coding", "debugging", "testing", "analysis"]
    made = []
    for i in range(60):
        duration = None if i % 4 == 0 else float(60 * (i % 3 + 1))
        made.append(
            TaskRecordFactory(
                minutes_ago=(i // 2) * 11,  # pairs share a recorded_at
                model=models[i % 3],
                task_type=types[i % 4],
                duration_seconds=duration,
                quality_score=[60.0, 75.5, 90.0][i % 3],
                description=f"Task {i} of the sort test",
            )
        )
    return made


def expected_order(records, sort: str) -> list[str]:
    column = sort.removeprefix("-")
    descending = sort.startswith("-")

    def value(r):
        return r.model.name if column == "model" else getattr(r, SORT_COLUMNS[column][0])

    known = sorted((r for r in records if value(r) is not None), key=lambda r: (value(r), r.pk))
    nulls = sorted((r for r in records if value(r) is None), key=lambda r: r.pk)
    if descending:
        known.reverse()
        nulls.reverse()
    return [r.record_id for r in known + nulls]  # NULLs last either way


def page_through(client, params: dict) -> list[str]:
    """Every row of the view, following "Load more" from the first page to the last."""
    doc = parse(client.get("/", params).content)
    seen = record_ids(doc)
    rows = doc.select("tr", cls="load-more-row")
    while rows:
        fragment = parse(client.get(rows[0].one("a").attrs["hx-get"]).content)
        seen += record_ids(fragment)
        rows = fragment.select("tr", cls="load-more-row")
    return seen


@pytest.mark.parametrize("sort", SORTS)
def test_keyset_pages_follow_every_sort_without_duplicates_or_gaps(client, many, sort):
    seen = page_through(client, {"period": "30d", "sort": sort, "rows": "7"})

    assert len(seen) == len(set(seen)) == 60
    assert seen == expected_order(many, sort)


@pytest.mark.parametrize("sort", ["duration_seconds", "-time_efficiency", "model"])
def test_sorted_pages_under_a_search_and_a_filter(client, many, sort):
    params = {"period": "30d", "sort": sort, "rows": "3", "q": "task sort", "task_type": "coding"}
    seen = page_through(client, params)

    assert seen == expected_order([r for r in many if r.task_type == "coding"], sort)


def test_the_cursor_carries_the_sort_key_and_continues_after_a_null():
    at_null = Cursor(value=None, id=41, sort="-duration_seconds")
    text = Cursor(value="Claude Sonnet 4.5: ünï", id=7, sort="model")

    assert Cursor.decode(at_null.encode()) == at_null
    assert Cursor.decode(text.encode()) == text
    assert Cursor.decode(Cursor(value=72.5, id=3, sort="quality_score").encode()).value == 72.5


def test_headers_link_to_their_sort_and_say_which_is_current(client, many):
    doc = parse(client.get("/", {"sort": "-quality_score", "period": "30d"}).content)
    table = doc.one("table", cls="records-table")
    headers = {th.text.strip(" ▲▼"): th for th in table.one("thead").select("th")}

    assert headers["Quality"].attrs["aria-sort"] == "descending"
    assert "aria-sort" not in headers["Time"].attrs
    flip = headers["Quality"].one("a").attrs
    assert "sort=quality_score" in flip["href"] and flip["hx-get"] == flip["href"]
    assert "sort=-duration_seconds" in headers["Duration"].one("a").attrs["href"]
    assert "sort=model" in headers["Model"].one("a").attrs["href"]  # names A to Z first
    assert not headers["Description"].select("a")
    # the controls keep the sort when a filter changes
    [controls] = [f for f in doc.select("form") if f.attrs.get("id") == "controls"]
    hidden = {
        i.attrs["name"]: i.attrs["value"]
        for i in controls.select("input", attr="name")
        if i.attrs.get("type") == "hidden"
    }
    assert hidden == {"sort": "-quality_score"}


def test_the_default_order_has_no_sort_in_its_links(client, many):
    doc = parse(client.get("/", {"sort": "-recorded_at"}).content)
    time_header = doc.one("table", cls="records-table").one("thead").select("th")[0]

    assert time_header.attrs["aria-sort"] == "descending"
    assert time_header.one("a").attrs["href"].endswith("sort=recorded_at")
    more = doc.one("tr", cls="load-more-row").one("a").attrs["hx-get"]
    assert "sort=" not in more


@pytest.mark.parametrize("bad", ["price", "--quality_score", "quality_score;drop", "raw"])
def test_an_unknown_sort_is_ignored_and_said_so(client, many, bad):
    response = client.get("/", {"sort": bad, "period": "30d"})

    assert response.status_code == 200
    doc = parse(response.content)
    assert IGNORED_MESSAGES["sort"].format(value=bad) in doc.text
    assert record_ids(doc) == expected_order(many, "-recorded_at")[:25]


def test_a_cursor_of_another_sort_is_ignored(client, many):
    cursor = Cursor(value=75.5, id=many[10].pk, sort="quality_score").encode()
    response = client.get("/", {"sort": "-duration_seconds", "cursor": cursor, "period": "30d"})

    doc = parse(response.content)
    assert IGNORED_MESSAGES["cursor"].format(value=cursor) in doc.text
    assert record_ids(doc) == expected_order(many, "-duration_seconds")[:25]


@pytest.mark.parametrize(
    "cursor", ["model:s%%%:3", "quality_score:nan:3", "quality_score:1e999:3", "model:sAA:3"]
)
def test_an_unreadable_cursor_is_ignored(client, many, cursor):
    sort = cursor.partition(":")[0]
    response = client.get("/", {"sort": sort, "cursor": cursor, "period": "30d"})

    assert response.status_code == 200
    assert IGNORED_MESSAGES["cursor"].format(value=cursor) in parse(response.content).text


def group_keys(doc, kind: str) -> list[str]:
    return [tr.attrs[f"data-{kind}"] for tr in doc.select("tr", attr=f"data-{kind}")]


def test_the_task_type_table_sorts_by_its_columns(client, many):
    by_count = parse(client.get("/fragments/task-types/", {"type_sort": "-count"}).content)
    counts = [
        int(tr.one(attr="data-count").attrs["data-count"])
        for tr in by_count.select("tr", attr="data-task-type")
    ]
    assert counts == sorted(counts, reverse=True) and len(counts) == 9
    by_name = parse(client.get("/fragments/task-types/", {"type_sort": "name"}).content)
    assert group_keys(by_name, "task-type") == sorted(group_keys(by_name, "task-type"))
    header = [th for th in by_count.select("th", attr="aria-sort")]
    assert [th.text.strip(" ▲▼") for th in header] == ["Tasks"]


def test_the_model_table_sorts_by_its_columns(client, many):
    doc = parse(client.get("/fragments/models/", {"model_sort": "-avg_quality"}).content)

    assert group_keys(doc, "model") == ["GPT-5", "Claude Sonnet 4.5", "GLM 4.6"]  # 90, 75.5, 60
    doc = parse(client.get("/fragments/models/", {"model_sort": "name"}).content)
    assert group_keys(doc, "model") == ["Claude Sonnet 4.5", "GLM 4.6", "GPT-5"]


@pytest.mark.parametrize("param", ["type_sort", "model_sort"])
def test_an_unknown_table_sort_is_ignored_and_said_so(client, many, param):
    doc = parse(client.get("/", {param: "bogus"}).content)

    assert IGNORED_MESSAGES[param].format(value="bogus") in doc.text


@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("-quality_score", "record_quality_sort_idx"),
        ("performance_index", "record_perf_sort_idx"),
        ("-duration_seconds", "record_duration_sort_idx"),
        ("time_efficiency", "record_efficiency_sort_idx"),
    ],
)
def test_a_sorted_page_walks_the_sort_columns_index(many, sort, index):
    """A page of a long period reads its rows in index order instead of sorting the window."""
    window = period_window("all", timezone.now())
    part = "known" if sort.removeprefix("-") in {"duration_seconds", "time_efficiency"} else "all"
    qs = sorted_records(window=window, filters=RecordFilters(), sort=sort, part=part)[:26]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a few rows: make a sort look as dear as it is
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
        prefix = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
        cursor.execute(f"{prefix} {sql}", params)
        plan = "\n".join(
            str(row[-1] if connection.vendor == "sqlite" else row[0]) for row in cursor
        )

    assert index in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort Key" not in plan


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan of a broad search")
@pytest.mark.parametrize(
    ("sort", "index"),
    [
        ("-quality_score", "record_quality_sort_idx"),
        ("duration_seconds", "record_duration_sort_idx"),
    ],
)
def test_a_sorted_page_of_a_broad_search_walks_the_sort_columns_index(
    many, monkeypatch, sort, index
):
    """A search with SEARCH_CAP matches or more is checked as the sort column's index is walked
    (a page needs its few rows); a narrow one is read from its matches. Both give the same rows."""
    window = period_window("all", timezone.now())
    searched = RecordFilters(search="sort")  # every one of the 60 records

    def page():
        qs = sorted_records(window=window, filters=searched, sort=sort, part="known")[:26]
        return [record.record_id for record in qs], _plan(qs)

    monkeypatch.setattr(filters, "SEARCH_CAP", 10_000)
    narrow_rows, narrow_plan = page()
    monkeypatch.setattr(filters, "SEARCH_CAP", 3)
    broad_rows, broad_plan = page()

    assert broad_rows == narrow_rows and len(broad_rows) == 26
    assert index in broad_plan and "TEMP B-TREE FOR ORDER BY" not in broad_plan
    assert "TEMP B-TREE FOR ORDER BY" in narrow_plan  # the matches, sorted
