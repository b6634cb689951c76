"""The insights panel names the best model, skills and agents per task type, with counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.dashboard.html import parse
from tests.factories import record_scored as record

pytestmark = pytest.mark.django_db


def make_history(repeat=1):
    for r in range(repeat):
        for i in range(6):
            at = 10 + i + 20 * r
            record(
                "debugging",
                "claude-opus-4",
                92,
                skills=["code-analysis"],
                agents=["bug-hunter"],
                minutes_ago=at,
            )
            record(
                "debugging",
                "GLM-4.6",
                61,
                skills=["pattern-learning"],
                agents=["generalist"],
                minutes_ago=at,
            )
    record("debugging", "Lucky Model", 100, skills=["lucky-skill"], agents=["lucky-agent"])


def insights(client, **params):
    response = client.get("/fragments/insights/", {"period": "7d", **params})
    assert response.status_code == 200
    return parse(response.content)


def test_panel_names_the_best_model_skill_and_agent_with_counts(client):
    make_history()
    doc = insights(client)
    row = doc.one("tr", attr="data-insight-type")
    assert row.attrs["data-insight-type"] == "debugging"
    best = row.one(attr="data-best-model")
    assert (best.attrs["data-best-model"], best.attrs["data-count"]) == ("Claude Opus 4", "6")
    assert "92.0" in best.text
    skills = [(n.attrs["data-skill"], n.attrs["data-count"]) for n in row.select(attr="data-skill")]
    assert skills == [("code-analysis", "6"), ("pattern-learning", "6"), ("lucky-skill", "1")]
    agents = [n.attrs["data-agent"] for n in row.select(attr="data-agent")]
    assert agents[0] == "bug-hunter"
    thin = row.one(attr="data-skill", cls="is-thin")
    assert thin.attrs["data-skill"] == "lucky-skill"
    assert "thin" in thin.text
    notes = doc.one("ul", cls="insight-notes").text
    assert (
        "For debugging, Claude Opus 4 averages 92 over 6 tasks; GLM 4.6 averages 61 over 6 "
        "(31 points apart)." in notes
    )


def test_heat_map_has_a_cell_per_model_and_type(client):
    make_history()
    doc = insights(client)
    heat = doc.one("table", cls="heatmap")
    assert [th.text for th in heat.select("th") if th.attrs.get("scope") == "col"] == [
        "Task type",
        "Claude Opus 4",
        "GLM 4.6",
        "Lucky Model",
    ]
    cells = heat.select("td", cls="heat")
    assert [c.attrs["data-count"] for c in cells] == ["6", "6", "1"]
    assert "heat-5" in cells[0].classes and "heat-1" in cells[1].classes
    assert "is-thin" in cells[2].classes


def test_panel_respects_filters(client):
    make_history()
    doc = insights(client, model="GLM 4.6")
    models = [n.attrs["data-best-model"] for n in doc.select(attr="data-best-model")]
    assert models == ["GLM 4.6"]


def test_panel_says_so_when_there_is_nothing(client):
    record("coding", "GLM-4.6", 80, minutes_ago=60 * 24 * 30)
    doc = insights(client)
    assert "No records in this period" in doc.one("p", cls="empty-panel").text


def test_panel_query_count_does_not_grow_with_rows(client, django_assert_max_num_queries):
    make_history(1)
    with CaptureQueriesContext(connection) as few:
        insights(client)
    make_history(4)
    with django_assert_max_num_queries(len(few)):
        insights(client)


def test_each_pick_says_how_sure_its_mean_is(client):
    for i, score in enumerate([80, 90, 85, 95]):
        record("refactoring", "GLM 4.6", score, minutes_ago=i)
    record("refactoring", "Claude Opus 4.1", 99)
    doc = insights(client)
    row = next(r for r in doc.select("tr") if r.attrs.get("data-insight-type") == "refactoring")
    best = row.one(attr="data-best-model")
    assert best.attrs["data-best-model"] == "GLM 4.6"  # 4 tasks beat one at 99
    # mean 87.5, sd 6.45 over 4 tasks: 95% CI 77.2 to 97.8
    assert "95% CI 77.2\u201397.8" in best.attrs["title"]
    assert "± 10.3" in best.one("span", cls="pick-n").text  # visible: half the interval
