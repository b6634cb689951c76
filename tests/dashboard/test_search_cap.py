"""A search's figures are those of its newest SEARCH_CAP matches in the view (issue 17).

The cap is lowered to 3 here: five records match ``fix``, the newest three of them also match
``alpha``, so the capped ``fix`` view must show exactly the figures of the ``alpha`` view (below
the cap, read the ordinary way). Run on SQLite and on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import json
import re

import pytest

from records.stats import filters, searched
from tests.dashboard.html import kpi_value, parse, record_ids, type_counts
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

KPIS = ("tasks", "avg-quality", "avg-performance-index", "pass-rate", "auto-manual")
CAP_NOTE = "figures from the newest 3 matches"


@pytest.fixture
def matches():
    glm, sonnet = AIModelFactory(name="GLM 4.6"), AIModelFactory(name="Claude Sonnet 4.5")
    rows = [
        # minutes ago, model, type, auto, success, quality, description
        (60, glm, "debugging", True, True, 91.0, "Fix crash alpha in the parser"),
        (2 * 60, sonnet, "coding", False, True, 75.0, "Fix crash alpha in the lexer"),
        (3 * 60, glm, "debugging", True, False, 40.0, "Fix crash alpha once more"),
        (4 * 60, sonnet, "testing", True, False, 20.0, "Fix crash beta in the tests"),
        (5 * 60, sonnet, "testing", False, True, 99.0, "Fix crash beta again"),
    ]
    made = [
        TaskRecordFactory(
            minutes_ago=ago,
            model=model,
            task_type=task_type,
            auto_generated=auto,
            success=success,
            quality_score=quality,
            description=description,
            skills=["code-analysis"],
            agents=["validator"],
        )
        for ago, model, task_type, auto, success, quality, description in rows
    ]
    TaskRecordFactory(minutes_ago=30, model=sonnet, description="Write the docs")
    return made


@pytest.fixture
def cap_of_three(monkeypatch):
    monkeypatch.setattr(filters, "SEARCH_CAP", 3)  # a broad search (newest_first)
    monkeypatch.setattr(searched, "SEARCH_CAP", 3)  # the figures' copy


def figures(doc) -> dict:
    models = {
        tr.attrs["data-model"]: tr.one(attr="data-count").attrs["data-count"]
        for tr in doc.select("tr", attr="data-model")
    }
    return {
        "kpis": {key: kpi_value(doc, key) for key in KPIS},
        "types": type_counts(doc),
        "models": models,
    }


def page(client, q: str, period: str = "7d"):
    response = client.get("/", {"q": q, "period": period})
    assert response.status_code == 200
    return parse(response.content)


@pytest.mark.parametrize("period", ["7d", "all"])
def test_capped_figures_are_those_of_the_newest_matches(client, matches, cap_of_three, period):
    capped, newest = page(client, "fix", period), page(client, "alpha", period)

    assert figures(capped) == figures(newest)
    assert kpi_value(capped, "tasks") == "3"
    assert figures(capped)["types"]["testing"] == 0  # the two older matches are left out
    assert CAP_NOTE in capped.text.lower()
    assert CAP_NOTE not in newest.text.lower()  # exactly at the cap: nothing left out


@pytest.mark.parametrize("panel", ["insights", "trend", "task-types", "models", "kpis"])
def test_every_figure_panel_reads_the_capped_matches(client, matches, cap_of_three, panel):
    def fragment(q: str) -> str:
        response = client.get(f"/fragments/{panel}/", {"q": q, "period": "7d"})
        assert response.status_code == 200
        text = response.content.decode().replace(f"q={q}", "q=SEARCH")
        text = text.replace(f'value="{q}"', 'value="SEARCH"')
        return re.sub(r'<p class="cap-note".*?</p>', "", text)

    assert fragment("fix") == fragment("alpha")


def test_the_list_of_records_keeps_every_match(client, matches, cap_of_three):
    doc = page(client, "fix")

    assert sorted(record_ids(doc)) == sorted(r.record_id for r in matches)


def test_the_export_keeps_every_match(client, matches, cap_of_three):
    response = client.get("/export/", {"q": "fix", "period": "7d", "format": "jsonl"})
    assert response.status_code == 200
    _header, *rows = (
        json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()
    )

    assert sorted(row["record_id"] for row in rows) == sorted(r.record_id for r in matches)


def test_below_the_cap_the_figures_are_those_of_every_match(client, matches):
    doc = page(client, "fix")

    assert kpi_value(doc, "tasks") == "5"
    assert type_counts(doc)["testing"] == 2
    assert "figures from the newest" not in doc.text.lower()
