"""Issue 16: a migrating user's history as it was — given numbers kept, the old JSON exactly,
an empty period that points at the history, and any range that reads well.

Most tests import the three legacy sample folders the repository ships (tests/data/legacy):
80 records between 21 and 27 Oct 2025.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.forms import MSG_RANGE_BOTH, MSG_RANGE_DATE, MSG_RANGE_ORDER
from dashboard.legacy_json import OLD_RECORD_KEYS
from records.models import AgentRollup, Rollup, SkillRollup, TaskRecord
from records.recorder import record_task_performance
from records.recording.tokens import token_create
from records.rules.periods import MAX_BUCKETS, Window, granularity_for
from records.stats.aggregates import totals
from tests.dashboard.html import parse
from tests.factories import TaskRecordFactory
from tests.records.legacy_helpers import SAMPLES, run_import

pytestmark = pytest.mark.django_db

FOLDERS = ("recorder-v3.7", "debugging-eval", "mixed-formats")
OLD_TOP_KEYS = {
    "records",
    "total_records",
    "showing_records",
    "task_type_stats",
    "auto_generated_count",
    "manual_assessment_count",
    "last_updated",
}


@pytest.fixture
def samples():
    """The legacy samples imported into an empty database, and what the command printed."""
    return run_import(*[SAMPLES / name for name in FOLDERS])


def source_payloads(record_id: str) -> list[dict]:
    """Every payload of ``record_id`` in the sample files, as the old tool wrote it."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if value.get("assessment_id") == record_id and "timestamp" in value:
                found.append(value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    for path in sorted(SAMPLES.glob("*/.claude-patterns/*.json")):
        walk(json.loads(path.read_text()))
    return found


# --- Given numbers stay -------------------------------------------------------------------------


def test_imported_records_keep_the_files_numbers(samples):
    refactoring = TaskRecord.objects.get(record_id="auto-refactoring-20251026-190421")
    assert (refactoring.quality_score, refactoring.performance_index) == (100.0, 69.375)
    assert refactoring.time_efficiency == 12.5  # the file's, not 99.0 from its 120 s

    debugging = TaskRecord.objects.get(record_id="debug-eval-dashboard-20251024-214104")
    assert (debugging.quality_score, debugging.performance_index) == (97.0, 97.4)
    assert debugging.time_efficiency == 100.0  # details.time_efficiency_score
    assert debugging.quality_improvement == 13.0

    gui = TaskRecord.objects.get(record_id="gui-debug-20251023-211439")
    assert gui.score_breakdown["source"] == {
        "web_dashboard": 24,
        "cli_interface": 22,
        "visual_components": 23,
        "data_presentation": 22,
    }
    assert set(gui.score_breakdown["given"]) >= {"quality_score", "breakdown"}
    assert "performance_index" not in gui.score_breakdown["given"]  # the file has none


def test_record_page_says_which_scores_were_given_and_which_computed(client, samples):
    doc = parse(client.get("/records/auto-refactoring-20251026-190421/").content)
    cards = {li.attrs["data-score"]: li for li in doc.select("li", attr="data-score")}

    assert "69.375" in cards["performance_index"].text
    for key in ("quality_score", "performance_index", "time_efficiency", "quality_improvement"):
        assert cards[key].one(attr="data-origin").attrs["data-origin"] == "given", key

    gui = parse(client.get("/records/gui-debug-20251023-211439/").content)
    origins = {
        li.attrs["data-score"]: li.one(attr="data-origin").attrs["data-origin"]
        for li in gui.select("li", attr="data-score")
        if li.select(attr="data-origin")
    }
    assert origins["quality_score"] == "given"
    assert origins["performance_index"] == "computed"
    assert "computed by Perfsite" in gui.text and "given by the source" in gui.text


def test_record_page_shows_the_sources_own_breakdown_and_no_internal_flags(client, samples):
    doc = parse(client.get("/records/gui-debug-20251023-211439/").content)

    [table] = [t for t in doc.select("table") if t.attrs.get("data-breakdown") == "source"]
    rows = {tr.one("th").text: tr.one("td").text for tr in table.one("tbody").select("tr")}
    assert rows == {
        "web_dashboard": "24",
        "cli_interface": "22",
        "visual_components": "23",
        "data_presentation": "22",
    }
    # The quality was given, so the formula's defaults (documentation 50, ...) are not shown,
    # and no internal flag is ever a row.
    assert not [t for t in doc.select("table") if t.attrs.get("data-breakdown") == "formula"]
    headers = {th.text for th in doc.select("th", attr="scope") if th.attrs["scope"] == "row"}
    assert not headers & {"manual", "given", "source"}


def test_a_computed_record_shows_the_formula_components(client):
    record_id = record_task_performance(
        {"task_type": "coding", "description": "Add CSV export", "duration": 300}
    )
    doc = parse(client.get(f"/records/{record_id}/").content)

    [table] = [t for t in doc.select("table") if t.attrs.get("data-breakdown") == "formula"]
    components = {tr.one("th").text for tr in table.one("tbody").select("tr")}
    assert components == {
        "task_completion",
        "code_quality",
        "efficiency",
        "best_practices",
        "documentation",
    }
    assert not [t for t in doc.select("table") if t.attrs.get("data-breakdown") == "source"]
    origins = {el.attrs["data-origin"] for el in doc.select(attr="data-origin")}
    assert origins == {"computed"}


def test_every_door_keeps_given_scores(client, tmp_path):
    given = {
        "task_type": "debugging",
        "description": "Fix the login loop",
        "duration": 120,
        "quality_score": 88.125,
        "performance_index": 69.375,
        "time_efficiency": 12.5,
        "breakdown": {"tests": 30, "docs": 12.5},
    }
    recorded = TaskRecord.objects.get(record_id=record_task_performance(dict(given)))
    token = token_create(name="history")[1]
    response = client.post(
        "/api/records",
        data=json.dumps(given),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201
    posted = TaskRecord.objects.get(record_id=response.json()["record_id"])
    out = StringIO()
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(given))
    call_command("record_task", str(task_file), stdout=out)
    cli = TaskRecord.objects.get(record_id=out.getvalue().split()[-1])

    for record in (recorded, posted, cli):
        assert (record.quality_score, record.performance_index, record.time_efficiency) == (
            88.125,
            69.375,
            12.5,
        )
        assert record.score_breakdown["source"] == {"tests": 30, "docs": 12.5}


def test_a_missing_score_is_computed_from_the_given_ones():
    record_id = record_task_performance(
        {"task_type": "coding", "description": "x", "quality_score": 80, "time_efficiency": 50}
    )
    record = TaskRecord.objects.get(record_id=record_id)
    # 0.40 * 80 + 0.35 * 50 + 0.25 * 100 = 74.5: the given efficiency, not one from a duration.
    assert record.performance_index == 74.5
    assert set(record.score_breakdown["given"]) >= {"quality_score", "time_efficiency"}
    assert "performance_index" not in record.score_breakdown["given"]


def test_a_bad_breakdown_is_a_400_naming_it(client):
    token = token_create(name="history")[1]
    for bad in ([1, 2], {"tests": "thirty"}, {"": 3}):
        response = client.post(
            "/api/records",
            data=json.dumps({"task_type": "coding", "breakdown": bad}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 400, bad
        assert list(response.json()["errors"]) == ["breakdown"]
    assert not TaskRecord.objects.exists()


def _rollup_snapshot():
    return {
        table.__name__: sorted(tuple(row.values())[1:] for row in table.objects.values())
        for table in (Rollup, SkillRollup, AgentRollup)
    }


def test_given_scores_with_more_decimals_keep_rollups_equal_to_a_rebuild(samples):
    base = datetime(2025, 11, 3, 10, 30, tzinfo=UTC)
    for i, (quality, index) in enumerate([(69.375, 12.25), (72.25, 88.75), (50.05, 33.75)]):
        record_task_performance(
            {
                "task_type": "testing",
                "description": "t",
                "quality_score": quality,
                "performance_index": index,
                "time_efficiency": 33.35,
                "skills_used": ["s"],
                "recorded_at": (base + timedelta(minutes=7 * i)).isoformat(),
            }
        )
    incremental = _rollup_snapshot()
    call_command("rebuild_rollups", stdout=StringIO())
    assert _rollup_snapshot() == incremental

    # A window cut inside hours (records read from the table) sums what the rollups sum.
    window = Window(start=base - timedelta(minutes=1), end=base + timedelta(minutes=20))
    [edge] = totals(window=window)
    whole = Window(start=base.replace(minute=0) - timedelta(hours=1), end=base + timedelta(hours=3))
    [rolled] = totals(window=whole, by=())
    assert edge.count == 3
    assert edge.quality_tenths == 694 + 723 + 501  # half up: 69.375 -> 69.4, 72.25 -> 72.3
    assert edge.performance_tenths == 123 + 888 + 338  # 12.25, 88.75, 33.75: exact halves
    assert (edge.quality_tenths, edge.performance_tenths) == (
        rolled.quality_tenths,
        rolled.performance_tenths,
    )


# --- The old tool's JSON, exactly ---------------------------------------------------------------


def test_old_endpoint_shape_key_by_key(client, samples):
    body = client.get("/api/recent-performance-records").json()

    assert set(body) == OLD_TOP_KEYS
    assert (body["total_records"], body["showing_records"]) == (80, 50)
    assert len(body["records"]) == 50
    for row in body["records"]:
        assert tuple(row) == OLD_RECORD_KEYS
    stamps = [row["timestamp"] for row in body["records"]]
    assert stamps == sorted(stamps, reverse=True)
    newest = TaskRecord.objects.order_by("-recorded_at", "-id")[:50]
    assert [row["assessment_id"] for row in body["records"]] == [r.record_id for r in newest]
    assert body["auto_generated_count"] == sum(r["auto_generated"] for r in body["records"])
    assert body["auto_generated_count"] + body["manual_assessment_count"] == 50
    datetime.fromisoformat(body["last_updated"])


def test_old_endpoint_values_of_a_debugging_assessment(client, samples):
    TaskRecord.objects.filter(recorded_at__gt=datetime(2025, 10, 24, 22, tzinfo=UTC)).delete()
    body = client.get("/api/recent-performance-records").json()

    row = next(
        r for r in body["records"] if r["assessment_id"] == "debug-eval-dashboard-20251024-214104"
    )
    [payload, *_] = source_payloads("debug-eval-dashboard-20251024-214104")
    details = payload["details"]
    assert row == {
        "timestamp": "2025-10-24T21:41:04.668961Z",
        "model": "GLM 4.6",
        "assessment_id": "debug-eval-dashboard-20251024-214104",
        "task_type": payload["task_type"],
        "overall_score": payload["overall_score"],
        "performance_index": details["performance_index"],
        "evaluation_target": details["evaluation_target"],
        "quality_improvement": details["quality_improvement"],
        "issues_found": len(payload["issues_found"]),
        "fixes_applied": details["fixes_applied"],
        "time_elapsed_minutes": details["time_elapsed_minutes"],
        "success_rate": details["success_rate"] * 100,
        "pass": True,
        "auto_generated": False,
    }


def test_old_endpoint_success_rate_and_task_type_stats(client, samples):
    body = client.get("/api/recent-performance-records").json()

    for row in body["records"]:
        record = TaskRecord.objects.get(record_id=row["assessment_id"])
        if not any("success_rate" in json.dumps(e["payload"]) for e in record.raw):
            assert row["success_rate"] == (100.0 if record.success else 0.0)
        assert row["issues_found"] == record.issues_count
        assert row["overall_score"] == record.quality_score
    expected: dict[str, list] = {}
    for row in body["records"]:
        expected.setdefault(row["task_type"], []).append(row)
    assert body["task_type_stats"] == {
        key: {
            "count": len(rows),
            "avg_score": round(sum(r["overall_score"] for r in rows) / len(rows), 1),
            "success_rate": round(sum(r["success_rate"] for r in rows) / len(rows), 1),
        }
        for key, rows in expected.items()
    }


def test_days_keeps_the_perfsite_shape(client, samples):
    TaskRecordFactory(minutes_ago=60, task_type="testing")

    body = client.get("/api/recent-performance-records", {"days": "7"}).json()

    assert body["total_records"] == 1 and body["period_days"] == 7
    assert body["records"][0]["record_id"] and "model_used" in body["records"][0]


# --- History is never hidden --------------------------------------------------------------------


def test_an_empty_period_offers_the_range_that_holds_the_history(client, samples):
    doc = parse(client.get("/").content)

    hint = doc.one(attr="data-history-hint")
    assert "80 records between 21 Oct 2025 and 27 Oct 2025" in hint.text
    link = hint.one("a")
    assert link.attrs["href"] == "/?from=2025-10-21&to=2025-10-27"
    assert link.attrs["hx-get"] == link.attrs["href"] and link.attrs["hx-push-url"] == "true"

    shown = parse(client.get(link.attrs["href"]).content)
    assert not shown.select(attr="data-history-hint")
    assert len(shown.select("tr", attr="data-record-id")) == 25
    tasks = next(li for li in shown.select("li") if "Tasks" in li.text)
    assert "80" in tasks.text


def test_the_hint_keeps_the_filters_and_counts_only_their_records(client, samples):
    doc = parse(client.get("/", {"task_type": "documentation", "period": "30d"}).content)

    hint = doc.one(attr="data-history-hint")
    count = TaskRecord.objects.filter(task_type="documentation").count()
    assert f"{count} records" in hint.text and "with these filters" in hint.text
    href = hint.one("a").attrs["href"]
    assert "task_type=documentation" in href and "period" not in href


def test_a_searchs_hint_counts_its_matches_from_the_search_index(client):
    """A search with no match in the period: the hint counts its matches elsewhere, in one
    statement over the matches (no ORDER BY ... LIMIT 1, which PostgreSQL's planner served by
    walking the time index and checking every record's words: 11 s at a million records for a
    word that no record holds); none anywhere, no hint."""
    for days in (20, 21):
        TaskRecordFactory(minutes_ago=days * 24 * 60, description="Tame the ocelot")
    TaskRecordFactory(minutes_ago=30, description="Write the docs")

    with CaptureQueriesContext(connection) as captured:
        doc = parse(client.get("/", {"q": "ocelot"}).content)
    hint = doc.one(attr="data-history-hint")
    assert "2 records between" in hint.text and "q=ocelot" in hint.one("a").attrs["href"]
    spans = [q["sql"] for q in captured if 'MIN("records_taskrecord"."recorded_at")' in q["sql"]]
    assert len(spans) == 1 and "LIMIT" not in spans[0]
    firsts = [q for q in captured if "ORDER BY" in q["sql"] and q["sql"].endswith("LIMIT 1")]
    assert not [q for q in firsts if "recorded_at" in q["sql"]]

    assert not parse(client.get("/", {"q": "zanzibar"}).content).select(attr="data-history-hint")


def test_no_hint_when_the_period_has_records_or_nothing_is_stored(client, samples):
    TaskRecordFactory(minutes_ago=30)
    assert not parse(client.get("/").content).select(attr="data-history-hint")
    TaskRecord.objects.all().delete()
    assert not parse(client.get("/").content).select(attr="data-history-hint")


def test_import_legacy_prints_the_url_that_shows_what_it_imported(samples):
    assert "See them on the dashboard: /?from=2025-10-21&to=2025-10-27" in samples.out
    again = run_import(SAMPLES / "debugging-eval")
    assert "See them on the dashboard: /?from=" in again.out  # already stored: still shown
    dry = run_import(SAMPLES / "recorder-v3.7", dry_run=True)
    assert "See them on the dashboard" not in dry.out


# --- Custom range -------------------------------------------------------------------------------


def _row_ids(response) -> set[str]:
    return {
        tr.attrs["data-record-id"]
        for tr in parse(response.content).select("tr")
        if "data-record-id" in tr.attrs
    }


def test_custom_range_covers_whole_days_from_midnight_to_midnight(client):
    day = datetime(2025, 10, 21, tzinfo=UTC)
    inside = [
        TaskRecordFactory(recorded_at=day),  # midnight of the first day: included
        TaskRecordFactory(recorded_at=day + timedelta(days=2, hours=23, minutes=59)),
    ]
    TaskRecordFactory(recorded_at=day - timedelta(microseconds=1))
    TaskRecordFactory(recorded_at=day + timedelta(days=3))  # midnight after the last day

    response = client.get("/", {"from": "2025-10-21", "to": "2025-10-23"})

    assert _row_ids(response) == {r.record_id for r in inside}
    doc = parse(response.content)
    assert "Key figures · 21 Oct 2025 to 23 Oct 2025" in doc.text
    date_inputs = {
        i.attrs["name"]: i.attrs.get("value")
        for i in doc.select("input")
        if i.attrs.get("type") == "date"
    }
    assert date_inputs == {"from": "2025-10-21", "to": "2025-10-23"}
    checked = [
        i for i in doc.select("input") if i.attrs.get("name") == "period" and "checked" in i.attrs
    ]
    assert checked == []  # no preset is selected while a range is shown


def test_custom_range_is_kept_by_filters_and_fragments(client):
    TaskRecordFactory(recorded_at=datetime(2025, 10, 22, 12, tzinfo=UTC), task_type="testing")
    params = {"from": "2025-10-21", "to": "2025-10-23"}

    doc = parse(client.get("/", params).content)
    type_links = [
        a.attrs["href"] for a in doc.select("a") if "task_type=testing" in a.attrs.get("href", "")
    ]
    assert type_links and all("from=2025-10-21" in h and "to=2025-10-23" in h for h in type_links)
    fragment = client.get("/fragments/recent-records/", params)
    assert len(_row_ids(fragment)) == 1
    assert len(_row_ids(client.get("/fragments/recent-records/"))) == 0  # default 7 days


def test_the_range_form_keeps_the_views_filters_search_and_order(client):
    TaskRecordFactory(project="storefront", description="fix the parser")
    doc = parse(
        client.get(
            "/", {"project": "storefront", "q": "parser", "sort": "-quality_score", "period": "30d"}
        ).content
    )
    [form] = [f for f in doc.select("form") if f.attrs.get("id") == "range"]
    hidden = {
        i.attrs["name"]: i.attrs["value"]
        for i in form.select("input", attr="name")
        if i.attrs.get("type") == "hidden"
    }
    assert hidden == {"project": "storefront", "q": "parser", "sort": "-quality_score"}


def test_a_preset_wins_over_a_range(client):
    TaskRecordFactory(recorded_at=datetime(2025, 10, 22, 12, tzinfo=UTC))
    response = client.get("/", {"period": "7d", "from": "2025-10-21", "to": "2025-10-23"})
    assert _row_ids(response) == set()
    assert not parse(response.content).select(cls="field-error")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "21/10/2025", "to": "2025-10-23"}, "from", MSG_RANGE_DATE),
        ({"from": "2025-10-21", "to": "2025-02-30"}, "to", MSG_RANGE_DATE),
        ({"from": "1999-12-31", "to": "2025-10-23"}, "from", MSG_RANGE_DATE),
        ({"from": "2025-10-23", "to": "2025-10-21"}, "to", MSG_RANGE_ORDER),
        ({"from": "2025-10-21"}, "to", MSG_RANGE_BOTH),
        ({"to": "2025-10-21"}, "from", MSG_RANGE_BOTH),
    ],
)
def test_a_bad_range_gets_field_errors_and_the_default_period(client, params, field, message):
    TaskRecordFactory(recorded_at=datetime(2025, 10, 22, 12, tzinfo=UTC))
    recent = TaskRecordFactory(minutes_ago=30)

    response = client.get("/", params)

    assert response.status_code == 200
    doc = parse(response.content)
    [error] = doc.select(cls="field-error")
    assert error.attrs["id"] == f"range-{field}-error" and message in error.text
    [box] = [i for i in doc.select("input") if i.attrs.get("id") == f"range-{field}"]
    assert box.attrs["aria-invalid"] == "true"
    assert box.attrs["aria-describedby"] == f"range-{field}-error"
    assert "Some parameters were ignored" in doc.text
    assert _row_ids(response) == {recent.record_id}


# --- Trend buckets ------------------------------------------------------------------------------


def _trend(client, **params) -> dict:
    doc = parse(client.get("/fragments/trend/", params).content)
    return json.loads(doc.one("script", attr="id").text)


@pytest.mark.parametrize(
    ("days", "unit"),
    [
        (1, "hour"),
        (3, "hour"),
        (7, "day"),
        (90, "day"),
        (400, "week"),
        (365 * 3, "month"),
        (365 * 8, "month"),
        (365 * 9, "year"),
    ],
)
def test_the_bucket_follows_the_span(days, unit):
    end = datetime(2025, 6, 1, tzinfo=UTC)
    assert granularity_for(end - timedelta(days=days), end) == unit


def test_all_time_over_a_year_plots_weeks_with_the_year(client, samples):
    data = _trend(client, period="all")

    assert data["unit"] == "week"
    assert len(data["buckets"]) <= MAX_BUCKETS + 1
    assert data["with_year"] is True
    assert sum(data["count"]) == 80
    # Each week (from Monday) holds the records of its seven days.
    by_week: dict[str, int] = {}
    for at in TaskRecord.objects.values_list("recorded_at", flat=True):
        monday = at.date() - timedelta(days=at.weekday())
        by_week[monday.isoformat()] = by_week.get(monday.isoformat(), 0) + 1
    shown = {label: n for label, n in zip(data["labels"], data["count"], strict=True) if n}
    assert shown == by_week


def test_a_range_of_years_plots_months_from_the_month_rollups(client):
    for year, month, n in [(2023, 1, 2), (2023, 12, 1), (2024, 6, 3), (2025, 9, 1)]:
        for i in range(n):
            TaskRecordFactory(recorded_at=datetime(year, month, 10 + i, 12, tzinfo=UTC))

    data = _trend(client, **{"from": "2023-01-01", "to": "2025-12-31"})

    assert data["unit"] == "month" and len(data["labels"]) == 36
    counts = dict(zip(data["labels"], data["count"], strict=True))
    assert counts["2023-01-01"] == 2 and counts["2023-12-01"] == 1
    assert counts["2024-06-01"] == 3 and counts["2025-09-01"] == 1
    assert sum(data["count"]) == 7
    assert data["with_year"] is True


def test_decades_plot_years_from_the_month_rollups(client):
    """Past about eight years months would plot more than MAX_BUCKETS points: years instead."""
    for year, n in [(2001, 2), (2012, 1), (2012, 3), (2024, 1)]:
        for i in range(n):
            TaskRecordFactory(recorded_at=datetime(year, 1 + i, 28, 23, 30, tzinfo=UTC))

    data = _trend(client, **{"from": "2000-01-01", "to": "2025-12-31"})

    assert data["unit"] == "year" and len(data["labels"]) == 26
    counts = dict(zip(data["labels"], data["count"], strict=True))
    assert counts["2001-01-01"] == 2 and counts["2012-01-01"] == 4 and counts["2024-01-01"] == 1
    assert sum(data["count"]) == 7
    assert data["with_year"] is True


def test_years_follow_the_servers_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    TaskRecordFactory(recorded_at=datetime(2010, 12, 31, 23, 30, tzinfo=UTC))  # 2011 in Berlin

    data = _trend(client, **{"from": "2000-01-01", "to": "2020-12-31"})

    assert data["unit"] == "year"
    counts = dict(zip(data["labels"], data["count"], strict=True))
    assert counts["2011-01-01"] == 1 and counts["2010-01-01"] == 0


def test_a_short_range_this_year_has_no_year_on_the_axis(client):
    today = timezone.localdate()
    TaskRecordFactory(minutes_ago=60)
    first = max(today - timedelta(days=1), date(today.year, 1, 1))
    data = _trend(client, **{"from": first.isoformat(), "to": today.isoformat()})
    assert data["unit"] == "hour" and data["with_year"] is False


def test_month_totals_equal_the_records_of_each_month():
    for day in (date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1)):
        TaskRecordFactory(recorded_at=datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC))
    window = Window(
        start=datetime(2024, 1, 15, tzinfo=UTC), end=datetime(2024, 3, 1, 23, 45, tzinfo=UTC)
    )

    rows = {row.key["month"].date(): row.count for row in totals(window=window, by=("month",))}

    assert rows == {date(2024, 1, 1): 1, date(2024, 2, 1): 2, date(2024, 3, 1): 1}


def test_range_and_weeks_follow_the_servers_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+2 until 26 Oct 2025, then UTC+1
    inside = TaskRecordFactory(recorded_at=datetime(2025, 10, 20, 22, 30, tzinfo=UTC))  # 00:30
    TaskRecordFactory(recorded_at=datetime(2025, 10, 21, 22, 30, tzinfo=UTC))  # the 22nd, 00:30

    assert _row_ids(client.get("/", {"from": "2025-10-21", "to": "2025-10-21"})) == {
        inside.record_id
    }
    # Sunday 26 Oct, 23:30 local, is still the week of Monday 20 Oct; Monday 27 Oct 00:30 not.
    TaskRecordFactory(recorded_at=datetime(2025, 10, 26, 22, 30, tzinfo=UTC))
    TaskRecordFactory(recorded_at=datetime(2025, 10, 26, 23, 30, tzinfo=UTC))
    data = _trend(client, **{"from": "2025-06-02", "to": "2025-12-28"})
    assert data["unit"] == "week"
    counts = dict(zip(data["labels"], data["count"], strict=True))
    assert counts["2025-10-20"] == 3 and counts["2025-10-27"] == 1


def test_a_range_into_the_future_stops_the_trend_now(client):
    TaskRecordFactory(minutes_ago=60)
    start = timezone.localdate() - timedelta(days=20)

    data = _trend(client, **{"from": start.isoformat(), "to": "2030-12-31"})

    assert data["unit"] == "day" and len(data["labels"]) == 21
    assert data["labels"][-1] == timezone.localdate().isoformat()
    assert sum(data["count"]) == 1
