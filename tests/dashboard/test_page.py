"""The dashboard page through HTTP: periods, order, AUTO badges, breakdown, filters, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.forms import IGNORED_MESSAGES
from tests.dashboard.html import (
    auto_badged_ids,
    kpi_delta,
    kpi_value,
    parse,
    record_ids,
    type_counts,
)
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

MINUTE = 1
HOUR = 60
DAY = 24 * HOUR

# record -> minutes before now; the periods each one falls in
AGES = {
    "r-30m": 30 * MINUTE,
    "r-20h": 20 * HOUR,
    "r-2d": 2 * DAY,
    "r-5d": 5 * DAY,
    "r-20d": 20 * DAY,
    "r-60d": 60 * DAY,
    "r-400d": 400 * DAY,
}
EXPECTED = {
    "24h": ["r-30m", "r-20h"],
    "3d": ["r-30m", "r-20h", "r-2d"],
    "7d": ["r-30m", "r-20h", "r-2d", "r-5d"],
    "30d": ["r-30m", "r-20h", "r-2d", "r-5d", "r-20d"],
    "90d": ["r-30m", "r-20h", "r-2d", "r-5d", "r-20d", "r-60d"],
    "all": list(AGES),
}


@pytest.fixture
def aged_records():
    # Created oldest-first with shuffled ids so order must come from recorded_at, not insertion.
    for record_id in ["r-5d", "r-400d", "r-30m", "r-60d", "r-2d", "r-20d", "r-20h"]:
        TaskRecordFactory(record_id=record_id, minutes_ago=AGES[record_id])


@pytest.mark.parametrize("period", list(EXPECTED))
def test_each_period_shows_exactly_its_records_newest_first(client, aged_records, period):
    response = client.get("/", {"period": period})

    assert response.status_code == 200
    assert record_ids(parse(response.content)) == EXPECTED[period]


def test_default_period_is_seven_days(client, aged_records):
    doc = parse(client.get("/").content)

    assert record_ids(doc) == EXPECTED["7d"]
    assert doc.one("input", attr="checked").attrs["value"] == "7d"


def test_kpi_tasks_and_breakdown_follow_the_period(client, aged_records):
    doc = parse(client.get("/", {"period": "30d"}).content)

    assert kpi_value(doc, "tasks") == "5"
    assert sum(type_counts(doc).values()) == 5


def test_auto_badge_only_on_automatic_records(client):
    auto = [TaskRecordFactory(minutes_ago=i + 1).record_id for i in range(3)]
    manual = [TaskRecordFactory(manual=True, minutes_ago=i + 10).record_id for i in range(2)]

    doc = parse(client.get("/").content)

    assert set(record_ids(doc)) == set(auto + manual)
    assert auto_badged_ids(doc) == set(auto)


def test_recent_rows_link_to_the_record_detail(client):
    record = TaskRecordFactory(record_id="legacy-42")

    doc = parse(client.get("/").content)

    row = doc.one("tr", attr="data-record-id")
    assert [a.attrs["href"] for a in row.select("a")] == [f"/records/{record.record_id}/"]


def test_first_page_is_the_25_newest(client):
    ids = [TaskRecordFactory(minutes_ago=i + 1).record_id for i in range(30)]

    doc = parse(client.get("/").content)

    assert record_ids(doc) == ids[:25]
    assert doc.select("tr", cls="load-more-row")


def test_task_type_breakdown_lists_all_nine_types_and_adds_up(client):
    for task_type, n in {"debugging": 3, "testing": 2, "general": 1}.items():
        for _ in range(n):
            TaskRecordFactory(task_type=task_type)

    counts = type_counts(parse(client.get("/").content))

    assert counts == {
        "refactoring": 0,
        "coding": 0,
        "debugging": 3,
        "documentation": 0,
        "testing": 2,
        "analysis": 0,
        "optimization": 0,
        "validation": 0,
        "general": 1,
    }


def test_task_type_row_links_to_the_view_filtered_to_it(client):
    TaskRecordFactory(task_type="debugging")

    doc = parse(client.get("/", {"period": "30d"}).content)

    row = [
        tr
        for tr in doc.select("tr", attr="data-task-type")
        if tr.attrs["data-task-type"] == "debugging"
    ]
    link = row[0].one("th").one("a")  # the name; the row also links to compare
    assert link.attrs["href"] == "/?period=30d&task_type=debugging"
    assert link.attrs["hx-get"] == link.attrs["href"]
    assert link.attrs["hx-push-url"] == "true"


@pytest.fixture
def mixed_records():
    glm = AIModelFactory(name="GLM 4.6")
    sonnet = AIModelFactory(name="Claude Sonnet 4.5")
    return {
        "glm-debug-auto": TaskRecordFactory(model=glm, task_type="debugging", minutes_ago=1),
        "glm-coding-manual": TaskRecordFactory(
            model=glm, task_type="coding", manual=True, minutes_ago=2
        ),
        "sonnet-debug-manual": TaskRecordFactory(
            model=sonnet, task_type="debugging", manual=True, minutes_ago=3
        ),
        "sonnet-testing-auto": TaskRecordFactory(model=sonnet, task_type="testing", minutes_ago=4),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"model": "GLM 4.6"}, ["glm-debug-auto", "glm-coding-manual"]),
        ({"task_type": "debugging"}, ["glm-debug-auto", "sonnet-debug-manual"]),
        ({"source": "auto"}, ["glm-debug-auto", "sonnet-testing-auto"]),
        ({"source": "manual"}, ["glm-coding-manual", "sonnet-debug-manual"]),
        ({"model": "Claude Sonnet 4.5", "source": "manual"}, ["sonnet-debug-manual"]),
        ({"model": "GLM 4.6", "task_type": "testing"}, []),
    ],
)
def test_every_filter_narrows_every_panel(client, mixed_records, params, expected):
    want = [mixed_records[key].record_id for key in expected]

    doc = parse(client.get("/", params).content)

    assert record_ids(doc) == want
    assert kpi_value(doc, "tasks") == str(len(want))
    assert sum(type_counts(doc).values()) == len(want)
    models = {tr.attrs["data-model"] for tr in doc.select("tr", attr="data-model")}
    assert models == {mixed_records[key].model.name for key in expected}


def test_filters_are_kept_in_the_controls(client, mixed_records):
    doc = parse(client.get("/", {"period": "24h", "model": "GLM 4.6", "source": "manual"}).content)

    assert doc.one("input", attr="checked").attrs["value"] == "24h"
    selected = {
        select.attrs["name"]: [o.attrs["value"] for o in select.select("option", attr="selected")]
        for select in doc.select("select")
    }
    assert selected == {"model": ["GLM 4.6"], "task_type": [], "source": ["manual"], "project": []}


def test_kpis_compare_with_the_previous_window_of_the_same_length(client):
    for minutes in (10, 20, 30):
        TaskRecordFactory(minutes_ago=minutes, quality_score=90.0)
    TaskRecordFactory(minutes_ago=DAY + 60, quality_score=60.0)  # previous 24 hours

    doc = parse(client.get("/", {"period": "24h"}).content)

    assert kpi_value(doc, "tasks") == "3"
    assert kpi_delta(doc, "tasks").startswith("+2 (+200%)")
    assert kpi_value(doc, "avg-quality") == "90.0"
    assert kpi_delta(doc, "avg-quality").startswith("+30.0 pts")
    assert kpi_value(doc, "pass-rate") == "100.0%"
    assert kpi_delta(doc, "pass-rate").startswith("+100.0 pts")


def test_kpi_median_duration_and_auto_manual(client):
    for duration in (60, 120, 600, 3600):
        TaskRecordFactory(duration_seconds=duration)
    TaskRecordFactory(duration_seconds=None, manual=True)

    doc = parse(client.get("/").content)

    assert kpi_value(doc, "median-duration") == "6m 00s"  # (120 + 600) / 2
    assert kpi_value(doc, "auto-manual") == "4 / 1"


def test_all_time_has_no_previous_window_to_compare(client):
    TaskRecordFactory()

    doc = parse(client.get("/", {"period": "all"}).content)

    assert kpi_delta(doc, "tasks") is None


@pytest.mark.parametrize(
    ("params", "message_key"),
    [
        ({"period": "5y"}, "period"),
        ({"model": "No Such Model"}, "model"),
        ({"task_type": "cooking"}, "task_type"),
        ({"source": "robot"}, "source"),
        ({"cursor": "yesterday"}, "cursor"),
        ({"cursor": "99999999999999999999999-1"}, "cursor"),
        ({"rows": "lots"}, "rows"),
        ({"rows": "100000"}, "rows"),
    ],
)
def test_bad_parameters_get_a_message_and_the_default_view(client, params, message_key):
    record = TaskRecordFactory()

    response = client.get("/", params)

    assert response.status_code == 200
    doc = parse(response.content)
    notice = doc.one(cls="notice")
    value = next(iter(params.values()))
    assert IGNORED_MESSAGES[message_key].format(value=value) in notice.text
    assert record_ids(doc) == [record.record_id]


@pytest.mark.parametrize(
    "query",
    [
        "period=%00&model=%ff%fe",
        "task_type=" + "x" * 5000,
        "period=24h&period=nope",
        "cursor=-1-&rows=-5",
        "source[]=auto",
    ],
)
def test_junk_query_strings_never_fail(client, query):
    TaskRecordFactory()

    assert client.get(f"/?{query}").status_code == 200


def test_htmx_request_for_the_dashboard_region_renders_only_that_region(client, mixed_records):
    response = client.get(
        "/", {"period": "24h"}, headers={"HX-Request": "true", "HX-Target": "dashboard"}
    )

    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="controls"' in response.content
    assert b'id="kpis"' in response.content
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_full_page(client, mixed_records):
    response = client.get(
        "/",
        headers={
            "HX-Request": "true",
            "HX-Target": "dashboard",
            "HX-History-Restore-Request": "true",
        },
    )

    assert b"<html" in response.content


def test_panels_poll_their_fragment_with_the_same_parameters(client, mixed_records):
    doc = parse(client.get("/", {"period": "3d", "model": "GLM 4.6"}).content)

    polled = {el.attrs["data-panel"]: el.attrs["hx-get"] for el in doc.select(attr="data-poll")}
    assert polled == {
        panel: f"/fragments/{panel}/?period=3d&model=GLM+4.6"
        for panel in (
            "kpis",
            "trend",
            "models",
            "task-types",
            "insights",
            "recent-records",
            "alerts",
        )
    }
    assert {el.attrs["hx-trigger"] for el in doc.select(attr="data-poll")} == {"poll"}


def test_controls_work_without_javascript(client, mixed_records):
    doc = parse(client.get("/").content)

    [form] = [f for f in doc.select("form") if f.attrs.get("id") == "controls"]
    assert (form.attrs["method"], form.attrs["action"]) == ("get", "/")
    assert form.attrs["hx-get"] == "/" and form.attrs["hx-push-url"] == "true"
    assert {el.attrs["name"] for el in form.select(attr="name")} == {
        "period",
        "model",
        "task_type",
        "source",
        "project",
        "q",
    }
    assert form.select("button", attr="type")
    labels = {label.attrs.get("for") for label in form.select("label")}
    expected = {"filter-model", "filter-task-type", "filter-source", "filter-project", "filter-q"}
    assert expected | {"period-24h"} <= labels


def test_no_inline_javascript_on_the_page(client, mixed_records):
    doc = parse(client.get("/").content)

    for script in doc.select("script"):
        assert script.attrs.get("src") or script.attrs.get("type") == "application/json"
    for node in doc.iter():
        assert not [name for name in node.attrs if name.startswith("on")], node.tag
        assert not node.attrs.get("href", "").startswith("javascript:")
        assert "style" not in node.attrs


def test_empty_database_shows_how_to_start(client):
    response = client.get("/")

    doc = parse(response.content)
    assert "No task records yet" in doc.text
    assert "import_legacy" in doc.text
    assert "record_task_performance" in doc.text
    assert not doc.select(attr="data-record-id")


def test_records_exist_but_not_in_this_period(client):
    TaskRecordFactory(minutes_ago=40 * DAY)

    doc = parse(client.get("/", {"period": "24h"}).content)

    assert "No records in this period" in doc.text
    assert kpi_value(doc, "tasks") == "0"


def test_newest_first_breaks_ties_on_id(client):
    at = 7
    first = TaskRecordFactory(minutes_ago=at)
    second = TaskRecordFactory(recorded_at=first.recorded_at)
    older = TaskRecordFactory(recorded_at=first.recorded_at - timedelta(seconds=1))

    doc = parse(client.get("/").content)

    assert record_ids(doc) == [second.record_id, first.record_id, older.record_id]
