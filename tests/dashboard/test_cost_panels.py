"""Cost on the dashboard: cost per task and per passing task, by task type, by model, overall."""

from __future__ import annotations

import pytest

from records.recorder import record_task_performance
from tests.dashboard.html import parse

pytestmark = pytest.mark.django_db


def _record(task_type: str, model: str, quality: float, cost: float | None) -> None:
    task = {"task_type": task_type, "description": "x", "quality_score": quality}
    if cost is not None:
        task["cost_usd"] = cost
    record_task_performance(task, model)


@pytest.fixture
def costs():
    _record("debugging", "GLM 4.6", 90, 0.30)
    _record("debugging", "GLM 4.6", 40, 0.50)  # failed: its cost counts toward each pass
    _record("debugging", "Claude Sonnet 4.5", 80, 1.20)
    _record("coding", "Claude Sonnet 4.5", 95, None)  # no cost: in none of the cost figures


def _cells(doc, kind: str, key: str) -> tuple[str, str]:
    rows = [r for r in doc.select("tr") if r.attrs.get(f"data-{kind}") == key]
    assert len(rows) == 1, f"one {kind} row {key}"
    row = rows[0]
    return row.one(attr="data-cost-per-task").text, row.one(attr="data-cost-per-pass").text


def test_task_type_table_shows_cost_per_task_and_per_passing_task(client, costs):
    doc = parse(client.get("/fragments/task-types/", {"period": "24h"}).content)
    # debugging: $2.00 over 3 priced tasks, 2 of which passed
    assert _cells(doc, "task-type", "debugging") == ("$0.6667", "$1.00")
    assert _cells(doc, "task-type", "coding") == ("—", "—")


def test_model_table_shows_cost_per_model(client, costs):
    doc = parse(client.get("/fragments/models/", {"period": "24h"}).content)
    assert _cells(doc, "model", "GLM 4.6") == ("$0.4000", "$0.8000")
    assert _cells(doc, "model", "Claude Sonnet 4.5") == ("$1.20", "$1.20")


def test_cost_card_shows_cost_per_passing_task_and_the_total(client, costs):
    doc = parse(client.get("/fragments/kpis/", {"period": "24h"}).content)
    card = next(n for n in doc.select("li") if n.attrs.get("data-kpi") == "cost-per-pass")
    # $2.00 over the 2 passing tasks that have a cost (the unpriced pass is not counted)
    assert card.one("p", cls="kpi-value").text == "$1.00"
    assert "$2.00 in all" in card.one("span", cls="kpi-hint").text
    assert "$0.6667 per task" in card.text


def test_cost_card_says_when_no_task_has_a_cost(client):
    _record("coding", "GLM 4.6", 90, None)
    doc = parse(client.get("/fragments/kpis/", {"period": "24h"}).content)
    card = next(n for n in doc.select("li") if n.attrs.get("data-kpi") == "cost-per-pass")
    assert card.one("p", cls="kpi-value").text == "—"
    assert "no task has a cost" in card.text


def test_cost_card_gives_the_tokens_per_task(client):
    for tokens in (1000, 3000):
        record_task_performance(
            {
                "task_type": "coding",
                "quality_score": 90,
                "input_tokens": tokens,
                "output_tokens": 500,
            },
            "Claude Sonnet 4.5",
        )
    record_task_performance({"task_type": "coding", "quality_score": 90}, "GLM 4.6")  # no tokens
    doc = parse(client.get("/fragments/kpis/", {"period": "24h"}).content)
    card = next(n for n in doc.select("li") if n.attrs.get("data-kpi") == "cost-per-pass")
    # (1,500 + 3,500) / 2 tasks with token counts
    assert "2,500 tokens per task" in card.one("span", cls="kpi-hint").text
