"""Many distinct model, skill and agent names: every read keeps a fixed shape.

Issue 13, item 2: 501 distinct model names took the dashboard down on SQLite ("too many terms in
compound SELECT": the insights trends were one UNION ALL term per model) and 3,000 made ``/`` take
18.8 s on PostgreSQL. Here 600 names of each kind (more than SQLite's 500 compound-SELECT terms)
must answer every page, fragment and JSON read with the same number of queries, and statements no
longer, than 10 names do, and the page shows at most TOP_MODELS models per list.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.stats.insights import TOP_MODELS
from tests.dashboard.html import parse
from tests.support.many_names import SHARED_SKILL, model_name, record_many_names

pytestmark = pytest.mark.django_db

FEW, MANY = 10, 600
PANELS = ("kpis", "recent-records", "task-types", "models", "trend", "insights")
URLS = [
    "/",
    "/?period=all",
    "/?period=24h",
    *(f"/fragments/{panel}/?period=30d" for panel in PANELS),
    "/fragments/insights/?period=all",
    "/api/summary",
    "/api/summary?days=36500",
    "/api/recent-performance-records",
]
# Statements may name up to TOP_MODELS models (the trends read one LIMIT-10 term per shown
# model): at FEW names that is FEW terms, at MANY it is TOP_MODELS (12), never one per name (the
# old trends read was 60 times longer at MANY names, and failed on SQLite).
GROWTH = 1.5


def record_names(first: int, last: int, *, records: int | None = None) -> None:
    """One task per name i in [first, last) (model-i with skill-i, a shared skill and agent-i),
    over the last week, so both the rollups and the window's partial hours hold some."""
    record_many_names(names=range(first, last), now=timezone.now(), records=records)


def measure(client) -> dict[str, tuple[int, int, int]]:
    """(queries, longest statement, all statements) per URL, in characters of SQL."""
    shape = {}
    for url in URLS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.content[:500])
        sizes = [len(q["sql"]) for q in queries.captured_queries]
        shape[url] = (len(sizes), max(sizes), sum(sizes))
    return shape


def test_reads_keep_their_shape_from_10_to_600_names(client):
    # Twenty tasks per name, so that every one of the ten is in even the 24-hour window.
    record_names(0, FEW, records=20 * FEW)
    few = measure(client)
    record_names(FEW, MANY)
    many = measure(client)

    for url in URLS:
        (n_few, longest_few, total_few), (n_many, longest_many, total_many) = few[url], many[url]
        assert n_many <= n_few, f"{url}: {n_few} queries at {FEW} names, {n_many} at {MANY}"
        assert longest_many <= GROWTH * longest_few, (url, longest_few, longest_many)
        assert total_many <= GROWTH * total_few, (url, total_few, total_many)


def test_page_lists_at_most_top_models_and_says_how_many_more(client):
    record_names(0, MANY)
    # Two more tasks for one model: the most used model is always shown.
    record_names(597, 599)

    doc = parse(client.get("/", {"period": "30d"}).content)

    [select] = [s for s in doc.select("select") if s.attrs.get("id") == "filter-model"]
    options = select.select("option")
    assert len(options) <= TOP_MODELS + 1  # "All models", then the most used
    assert model_name(597) in {o.attrs["value"] for o in options}
    model_rows = doc.select("tr", attr="data-model")
    assert len(model_rows) == TOP_MODELS
    assert model_rows[0].attrs["data-model"] in {model_name(597), model_name(598)}
    more = doc.select(attr="data-more-models")
    assert more and {n.attrs["data-more-models"] for n in more} == {str(MANY - TOP_MODELS)}
    heat = doc.one("table", cls="heatmap")
    columns = [th for th in heat.select("th") if th.attrs.get("scope") == "col"]
    assert len(columns) == 1 + TOP_MODELS
    assert len(doc.select(attr="data-model-trend")) <= TOP_MODELS


def test_any_model_name_still_filters(client):
    record_names(0, MANY)

    response = client.get("/", {"period": "30d", "model": model_name(444)})

    doc = parse(response.content)
    assert [tr.attrs["data-model"] for tr in doc.select("tr", attr="data-model")] == [
        model_name(444)
    ]
    selected = [o.attrs["value"] for o in doc.select("option", attr="selected")]
    assert model_name(444) in selected
    assert "No model is called" not in response.content.decode()


def test_summary_keeps_its_shape_with_many_names(client):
    record_names(0, MANY)

    summary = client.get("/api/summary", {"days": 30}).json()

    assert summary["total_tasks"] == MANY
    assert len(summary["models_used"]) == MANY
    coding = summary["insights"]["coding"]
    assert set(coding) == {"best_model", "best_skills", "best_agents"}
    assert coding["best_model"]["name"].startswith("model-")
    assert len(coding["best_skills"]) == 3
    assert coding["best_skills"][0]["name"] == SHARED_SKILL
