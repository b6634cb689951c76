"""``?project=NAME``: every panel, the page and /api/summary show that project's records only.

Records of two projects and of none, recent (the window's partial hours, read from records) and
days and weeks old (hour, day and month rollup rows), so each read path has to honour the filter.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from records.recorder import record_task_performance
from tests.dashboard.html import kpi_value, parse

pytestmark = pytest.mark.django_db

HOUR = 60
# (project, task type, model, skill, agent, score, minutes ago, auto)
TASKS = [
    ("alpha", "coding", "GLM 4.6", "alpha-skill", "alpha-agent", 91, 10, True),
    ("alpha", "coding", "GLM 4.6", "alpha-skill", "alpha-agent", 89, 3 * 24 * HOUR, True),
    ("alpha", "coding", "GLM 4.6", "alpha-skill", "alpha-agent", 90, 45 * 24 * HOUR, True),
    ("alpha", "debugging", "Claude Opus 4.1", "alpha-skill", "alpha-agent", 80, 30, False),
    ("beta", "testing", "Claude Sonnet 4.5", "beta-skill", "beta-agent", 60, 20, True),
    ("beta", "testing", "Claude Sonnet 4.5", "beta-skill", "beta-agent", 62, 2 * 24 * HOUR, True),
    ("beta", "analysis", "Claude Sonnet 4.5", "beta-skill", "beta-agent", 64, 40 * 24 * HOUR, True),
    ("beta", "testing", "Qwen 3", "beta-skill", "beta-agent", 66, 5 * 24 * HOUR, True),
    ("", "documentation", "Gemini 2.5 Pro", "plain-skill", "plain-agent", 70, 15, True),
    ("", "documentation", "Gemini 2.5 Pro", "plain-skill", "plain-agent", 72, 6 * 24 * HOUR, True),
]
PANELS = ("kpis", "recent-records", "task-types", "models", "trend", "insights")
PERIODS = {"24h": 24 * HOUR, "7d": 7 * 24 * HOUR, "all": None}


@pytest.fixture
def projects():
    """record_id -> its task tuple, recorded through the public recorder API."""
    now = timezone.now()
    stored = {}
    for task in TASKS:
        project, task_type, model, skill, agent, score, minutes, auto = task
        data = {
            "task_type": task_type,
            "description": f"{task_type} in {project or 'no project'}",
            "overall_score": score,
            "skills_used": [skill],
            "agents_delegated": [agent],
            "auto_generated": auto,
            "duration": 200,
            "recorded_at": (now - timedelta(minutes=minutes)).isoformat(),
        }
        if project:
            data["project"] = project
        stored[record_task_performance(data, model)] = task
    return stored


def expected(projects, project, period):
    limit = PERIODS[period]
    return {
        record_id: task
        for record_id, task in projects.items()
        if task[0] == project and (limit is None or task[6] < limit)
    }


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("project", ["alpha", "beta"])
def test_every_panel_shows_the_projects_records_only(client, projects, project, period):
    mine = expected(projects, project, period)
    assert mine  # each cut holds some of the project's records
    query = {"period": period, "project": project}

    kpis = parse(client.get("/fragments/kpis/", query).content)
    assert kpi_value(kpis, "tasks") == str(len(mine))

    recent = parse(client.get("/fragments/recent-records/", query).content)
    assert {tr.attrs["data-record-id"] for tr in recent.select(attr="data-record-id")} == set(mine)

    types = parse(client.get("/fragments/task-types/", query).content)
    counts = {
        tr.attrs["data-task-type"]: int(tr.one(attr="data-count").attrs["data-count"])
        for tr in types.select("tr", attr="data-task-type")
    }
    for task_type, count in counts.items():
        assert count == sum(1 for t in mine.values() if t[1] == task_type), task_type

    models = parse(client.get("/fragments/models/", query).content)
    shown = {tr.attrs["data-model"] for tr in models.select("tr", attr="data-model")}
    assert shown == {t[2] for t in mine.values()}

    trend = parse(client.get("/fragments/trend/", query).content)
    [script] = [s for s in trend.select("script") if s.attrs.get("id") == "trend-data"]
    assert sum(json.loads(script.text)["count"]) == len(mine)

    insights = parse(client.get("/fragments/insights/", query).content)
    named = {
        role: {node.attrs[f"data-{role}"] for node in insights.select(attr=f"data-{role}")}
        for role in ("best-model", "skill", "agent")
    }
    assert named["best-model"] <= {t[2] for t in mine.values()} and named["best-model"]
    assert named["skill"] == {t[3] for t in mine.values()}
    assert named["agent"] == {t[4] for t in mine.values()}


def test_the_page_offers_the_projects_and_keeps_the_selected_one(client, projects):
    doc = parse(client.get("/", {"period": "all", "project": "beta"}).content)

    [select] = [s for s in doc.select("select") if s.attrs.get("id") == "filter-project"]
    values = [o.attrs["value"] for o in select.select("option")]
    assert values == ["", "alpha", "beta"]  # "All projects", then the projects (none: not one)
    assert [o.attrs["value"] for o in select.select("option", attr="selected")] == ["beta"]
    assert kpi_value(doc, "tasks") == "4"
    chips = [a for a in doc.select("a", cls="chip") if "Project" in a.text]
    assert chips and "project=" not in chips[0].attrs["href"]
    # Every panel's refresh URL keeps the filter.
    assert all("project=beta" in node.attrs["hx-get"] for node in doc.select(attr="data-panel"))


def test_an_unknown_project_is_ignored_and_said_so(client, projects):
    response = client.get("/", {"period": "all", "project": "gamma"})

    doc = parse(response.content)
    assert "No record has the project “gamma”" in response.content.decode()
    assert kpi_value(doc, "tasks") == str(len(TASKS))


@pytest.mark.parametrize("url", ["/", "/fragments/insights/", "/fragments/kpis/"])
def test_a_project_filter_costs_no_more_queries(client, projects, url):
    def queries(params):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, params).status_code == 200
        return len(captured)

    # One more at most: checking that the named project exists.
    assert queries({"period": "30d", "project": "alpha"}) <= queries({"period": "30d"}) + 1


def test_summary_api_takes_a_project(client, projects):
    everything = client.get("/api/summary", {"days": 90}).json()
    alpha = client.get("/api/summary", {"days": 90, "project": "alpha"}).json()

    assert everything["total_tasks"] == len(TASKS)
    assert alpha["project"] == "alpha"
    assert alpha["total_tasks"] == 4
    assert set(alpha["models_used"]) == {"GLM 4.6", "Claude Opus 4.1"}
    assert set(alpha["task_types"]) == {"coding", "debugging"}
    assert alpha["insights"]["coding"]["best_skills"][0]["name"] == "alpha-skill"
    assert alpha["avg_score"] == 87.5


def test_summary_api_refuses_an_overlong_project(client):
    response = client.get("/api/summary", {"project": "p" * 201})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["project"]
