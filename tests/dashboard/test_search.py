"""``?q=``: full-text search on the page and every fragment, with every filter and period.

Run on SQLite and on PostgreSQL (DATABASE_URL): the same queries must find the same records.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.forms import IGNORED_MESSAGES
from records.stats import filters
from tests.dashboard.html import kpi_value, parse, record_ids, type_counts
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

PANELS = ("kpis", "recent-records", "task-types", "models", "trend", "insights")
DAY = 24 * 60


@pytest.fixture
def corpus():
    """Records spread over days (so whole days come from rollups without a search), with
    descriptions, labels and ids worth searching for."""
    glm, sonnet = AIModelFactory(name="GLM 4.6"), AIModelFactory(name="Claude Sonnet 4.5")
    rows = [
        # key, minutes ago, model, type, label, auto, description
        (
            "parser-1",
            10,
            glm,
            "debugging",
            "bug_fix",
            True,
            "Fix crash in the parser on empty input",
        ),
        ("parser-2", 3 * DAY, sonnet, "debugging", "debugging", False, "Parser: handle UTF-8 BOM"),
        (
            "parse-3",
            5 * DAY,
            glm,
            "coding",
            "feature_implementation",
            True,
            "Parse dates (ISO 8601)",
        ),
        (
            "docs-4",
            6 * DAY,
            sonnet,
            "documentation",
            "docs",
            True,
            'Write "README" & docs/setup.md',
        ),
        ("menu-5", 8 * DAY, glm, "testing", "test", True, "Test the café menu; NOT flaky"),
        ("old-6", 40 * DAY, glm, "debugging", "bug_fix", True, "Fix crash in the parser, again"),
    ]
    made = {}
    for key, ago, model, task_type, label, auto, description in rows:
        made[key] = TaskRecordFactory(
            record_id=f"rec-{key}-20261101-abc{len(made)}",
            minutes_ago=ago,
            model=model,
            task_type=task_type,
            task_label=label,
            auto_generated=auto,
            description=description,
            skills=["code-analysis"],
            agents=["validator"],
        )
    return made


def ids(client, **params) -> set[str]:
    response = client.get("/", params)
    assert response.status_code == 200
    return set(record_ids(parse(response.content)))


def rec(corpus, *keys) -> set[str]:
    return {corpus[key].record_id for key in keys}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("parser", ("parser-1", "parser-2")),
        ("PARSE", ("parser-1", "parser-2", "parse-3")),  # a prefix, any case
        ("crash parser", ("parser-1",)),  # every word, in any order, anywhere
        ("parser crash", ("parser-1",)),
        ("crash nonexistentword", ()),
        ("bug", ("parser-1",)),  # the label bug_fix, split at its underscore
        ("feature implementation", ("parse-3",)),
        ("rec-docs-4-20261101", ("docs-4",)),  # a record id, or its start
        ("abc4", ("menu-5",)),
        ("café", ("menu-5",)),
        ("cafe", ()),  # accents are kept, alike on both databases
        ("setup.md", ("docs-4",)),  # a path: its words
        ("docs/setup", ("docs-4",)),
        ("utf-8", ("parser-2",)),
        ("8601", ("parse-3",)),
        # the syntax of FTS5 and tsquery is only text here: none of it errors or is obeyed
        ('"README"', ("docs-4",)),
        ('"README', ("docs-4",)),
        ("README & docs", ("docs-4",)),
        ("NOT flaky", ("menu-5",)),
        ("menu OR parser", ()),
        ("parser -crash", ("parser-1",)),
        ("parse*", ("parser-1", "parser-2", "parse-3")),
        ("description:parser", ()),
        ("NEAR(parser crash)", ()),  # NEAR is a word to find like any other
        ("(parser) | !crash", ("parser-1",)),
        ("parser:*", ("parser-1", "parser-2")),
        ("' OR 1=1 --", ()),
        ("\\parser\\", ("parser-1", "parser-2")),
    ],
)
def test_search_finds_the_same_records_on_every_database(client, corpus, q, expected):
    assert ids(client, q=q, period="30d") == rec(corpus, *expected)


def test_search_combines_with_period_and_every_filter(client, corpus):
    assert ids(client, q="crash") == rec(corpus, "parser-1")  # 7 days: not the old one
    assert ids(client, q="crash", period="all") == rec(corpus, "parser-1", "old-6")
    assert ids(client, q="parse", period="30d", model="GLM 4.6") == rec(
        corpus, "parser-1", "parse-3"
    )
    assert ids(client, q="parse", period="30d", task_type="debugging") == rec(
        corpus, "parser-1", "parser-2"
    )
    assert ids(client, q="parse", period="30d", source="manual") == rec(corpus, "parser-2")


@pytest.mark.parametrize("panel", PANELS)
def test_every_fragment_takes_the_search(client, corpus, panel):
    response = client.get(f"/fragments/{panel}/", {"q": "parse", "period": "30d"})

    assert response.status_code == 200
    if panel == "recent-records":
        assert set(record_ids(parse(response.content))) == rec(
            corpus, "parser-1", "parser-2", "parse-3"
        )


def test_aggregates_count_only_the_matching_records(client, corpus):
    """Whole days come from rollups without a search; with one, from the matching records."""
    doc = parse(client.get("/", {"q": "parse", "period": "30d"}).content)

    assert kpi_value(doc, "tasks") == "3"
    counts = type_counts(doc)
    assert counts["debugging"] == 2 and counts["coding"] == 1 and counts["testing"] == 0
    models = {
        tr.attrs["data-model"]: tr.one(attr="data-count").attrs["data-count"]
        for tr in doc.select("tr", attr="data-model")
    }
    assert models == {"GLM 4.6": "2", "Claude Sonnet 4.5": "1"}

    everything = parse(client.get("/", {"period": "30d"}).content)
    assert kpi_value(everything, "tasks") == "5"


def test_insights_read_the_matching_records(client, corpus):
    doc = parse(client.get("/fragments/insights/", {"q": "docs", "period": "30d"}).content)
    text = doc.text

    assert "Claude Sonnet 4.5" in text  # docs-4's model
    assert "GLM 4.6" not in text  # no GLM record mentions docs


def test_the_search_stays_in_the_page_links_and_the_form(client, corpus):
    doc = parse(client.get("/", {"q": "parse", "period": "30d", "rows": "1"}).content)

    [controls] = [f for f in doc.select("form") if f.attrs.get("id") == "controls"]
    inputs = {i.attrs.get("name"): i.attrs for i in controls.select("input", attr="name")}
    assert inputs["q"]["value"] == "parse" and inputs["q"]["type"] == "search"
    panel_urls = [el.attrs["hx-get"] for el in doc.select(attr="data-panel")]
    assert panel_urls and all("q=parse" in url for url in panel_urls)
    more = doc.one("tr", cls="load-more-row").one("a")
    assert "q=parse" in more.attrs["hx-get"] and "q=parse" in more.attrs["href"]
    chips = [a.text for a in doc.select("a", cls="chip")]
    assert any("Search" in chip and "parse" in chip for chip in chips)


def test_load_more_under_a_search_pages_through_the_matches(client, corpus):
    first = parse(client.get("/", {"q": "parse", "period": "30d", "rows": "2"}).content)
    more = first.one("tr", cls="load-more-row").one("a").attrs["hx-get"]
    rest = parse(client.get(more).content)

    seen = record_ids(first) + record_ids(rest)
    assert sorted(seen) == sorted(rec(corpus, "parser-1", "parser-2", "parse-3"))


@pytest.mark.parametrize("q", ["!!!", '"', "***", "-", "  ", "\x00x", "x" * 201])
def test_a_search_without_words_is_ignored_and_said_so(client, corpus, q):
    response = client.get("/", {"q": q, "period": "30d"})

    assert response.status_code == 200
    doc = parse(response.content)
    assert len(record_ids(doc)) == 5
    if q.strip():
        expected = IGNORED_MESSAGES["q"].format(value=q[:60])
        assert expected in doc.text


# What a search adds to a panel's statements, whatever the number of matches: per window read,
# the copy of its newest matches (records.stats.searched: three CREATE TEMPORARY TABLE IF NOT
# EXISTS, the records, their skills, their agents; PostgreSQL copies the KPIs' two windows in
# one and counts them), the request's first copy deleting what earlier requests left (three),
# and on SQLite a count of the matches stopping at the cap (newest_first). The list reads no
# figures: only that count. On PostgreSQL a window longer than RECENT_DAYS whose last days
# hold too few matches is copied again whole: that slot deleted, one more copy.
COPY = 3 + 3
AGAIN = 2


@pytest.mark.parametrize("panel", PANELS)
def test_a_search_costs_a_fixed_number_of_queries(client, corpus, panel):
    """Aggregates with a search read only the matching records, copied once per window: one
    query where rollups and edge records take two, and a fixed number more for the copy,
    whatever the number of rows."""

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/fragments/{panel}/", {"period": "30d", **params})
        return len(captured)

    plain, searched = queries(), queries(q="parse", sort="model")
    for minutes in range(20):  # four times the matches: not one more statement
        TaskRecordFactory(minutes_ago=30 + minutes, description=f"Parse file {minutes}")

    assert queries(q="parse", sort="model") == searched
    windows = {"kpis": 2, "recent-records": 0}.get(panel, 1)
    again = AGAIN if connection.vendor == "postgresql" and windows else 0
    assert searched <= plain + 3 + windows * COPY + again + 1


def test_a_page_of_matches_beyond_the_newest_records_is_read_in_full(client, monkeypatch):
    """PostgreSQL reads a page of a search from the view's newest records first
    (records.stats.filters.newest_first, ``page``); when they hold too few matches, the page is
    read again from the search index, so no match is left out. Two newest records are probed
    here, and neither matches."""
    monkeypatch.setattr(filters, "PROBE_ROWS", 2)
    older = [
        TaskRecordFactory(minutes_ago=60 + i, description=f"Probe beyond {i}") for i in range(5)
    ]
    for i in range(3):
        TaskRecordFactory(minutes_ago=i, description="Write the docs")

    first = parse(client.get("/", {"q": "beyond", "period": "7d", "rows": "3"}).content)
    more = first.one("tr", cls="load-more-row").one("a").attrs["hx-get"]
    rest = parse(client.get(more).content)

    assert record_ids(first) == [r.record_id for r in older[:3]]
    assert record_ids(first) + record_ids(rest) == [r.record_id for r in older]
