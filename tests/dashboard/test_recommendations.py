"""GET /api/recommendations: the best model, skills and agents for a task type with their
evidence, warnings where the evidence is strong, "not enough data" where it is thin; and the
same answer as the insights panel and /api/summary's insights on the same data."""

from __future__ import annotations

import pytest

from tests.dashboard.html import parse
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

SONNET, GLM = "Claude Sonnet 4.5", "GLM 4.6"


def history(project: str = "widgets") -> None:
    """Debugging in ``project``: Sonnet passes 20 of 20 with root-cause-analysis; GLM 4.6
    passes 10 of 24 (a clear gap of 58 points); a lucky model passes its one task."""
    for i in range(20):
        TaskRecordFactory(
            task_type="debugging",
            model__name=SONNET,
            quality_score=88 + i % 5,
            skills=["root-cause-analysis"],
            agents=["bug-hunter"],
            project=project,
            minutes_ago=10 + i,
        )
    for i in range(24):
        TaskRecordFactory(
            task_type="debugging",
            model__name=GLM,
            quality_score=80 if i < 10 else 50,
            skills=["pattern-learning"],
            project=project,
            minutes_ago=60 + i,
        )
    TaskRecordFactory(
        task_type="debugging",
        model__name="Lucky Model",
        quality_score=100,
        skills=["lucky-skill"],
        project=project,
    )


def ask(client, **params):
    response = client.get("/api/recommendations", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_best_model_skills_and_agents_with_their_evidence_and_a_warning(client):
    history()
    found = ask(client, task_type="debugging", project="widgets")

    assert found["tasks"] == 45 and found["enough_data"] is True and found["note"] is None
    best = found["best_model"]
    assert best["name"] == SONNET and best["tasks"] == 20
    assert best["pass_rate"] == 100.0 and best["avg_score"] == 90.0
    low, high = best["pass_rate_interval"]
    assert 80 < low < 90 and high == 100.0  # Wilson's interval of 20 of 20
    assert best["score_interval"][0] < 90 < best["score_interval"][1]
    assert [s["name"] for s in found["skills"]] == ["root-cause-analysis", "pattern-learning"]
    assert [a["name"] for a in found["agents"]] == ["bug-hunter"]
    assert "lucky-skill" not in {s["name"] for s in found["skills"]}  # one task: thin
    assert found["warnings"] == [
        "GLM 4.6 passes debugging 58 points less often than Claude Sonnet 4.5, 24 vs 20 tasks"
    ]
    assert found["advice"][0] == "Perfsite, from 45 debugging tasks in widgets:"
    assert (
        "- skill root-cause-analysis: passed 100% of 20 tasks, mean quality 90" in (found["advice"])
    )
    assert f"- best model {SONNET}: passed 100% of 20 tasks, mean quality 90" in found["advice"]


def test_the_endpoint_the_panel_and_the_summary_agree(client):
    history()
    # A second project where GLM 4.6 does best: the view without a project mixes both.
    for i in range(30):
        TaskRecordFactory(
            task_type="debugging",
            model__name=GLM,
            quality_score=97,
            skills=["pattern-learning"],
            project="gadgets",
            minutes_ago=200 + i,
        )
    for project in (None, "widgets", "gadgets"):
        scope = {"project": project} if project else {}
        advice = ask(client, task_type="debugging", **scope)
        summary = client.get("/api/summary", {"days": 90, **scope}).json()["insights"]
        panel = parse(client.get("/fragments/insights/", {"period": "90d", **scope}).content).one(
            "tr", attr="data-insight-type"
        )
        best = panel.one(attr="data-best-model").attrs["data-best-model"]
        skills = [n.attrs["data-skill"] for n in panel.select(attr="data-skill")]

        assert advice["best_model"]["name"] == summary["debugging"]["best_model"]["name"] == best
        assert advice["best_model"]["tasks"] == summary["debugging"]["best_model"]["count"]
        solid_skills = [s["name"] for s in advice["skills"]]
        assert (
            solid_skills
            == [s["name"] for s in summary["debugging"]["best_skills"]][: len(solid_skills)]
        )
        assert solid_skills == skills[: len(solid_skills)]
    assert ask(client, task_type="debugging", project="gadgets")["best_model"]["name"] == GLM
    assert ask(client, task_type="debugging", project="widgets")["best_model"]["name"] == SONNET


def test_thin_evidence_gives_no_advice(client):
    for i in range(3):
        TaskRecordFactory(task_type="testing", model__name=SONNET, quality_score=95, minutes_ago=i)
    found = ask(client, task_type="testing")

    assert found["tasks"] == 3 and found["enough_data"] is False
    assert found["best_model"] is None and found["skills"] == [] and found["warnings"] == []
    assert found["advice"] == []
    assert found["note"].startswith("Not enough data: 3 testing tasks")
    empty = ask(client, task_type="refactoring")
    assert empty["tasks"] == 0 and empty["advice"] == [] and empty["enough_data"] is False


def test_a_model_filter_narrows_to_that_model_and_old_tasks_are_outside_the_window(client):
    history()
    for i in range(10):  # older than the default 90 days
        TaskRecordFactory(
            task_type="debugging", model__name=GLM, quality_score=99, minutes_ago=100 * 24 * 60 + i
        )
    found = ask(client, task_type="debugging", model="glm-4.6")

    assert found["model"] == GLM and found["tasks"] == 24
    assert found["best_model"]["name"] == GLM and found["warnings"] == []
    assert [s["name"] for s in found["skills"]] == ["pattern-learning"]
    assert ask(client, task_type="debugging", model="glm-4.6", days=200)["tasks"] == 34


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "task_type"),
        ({"task_type": ""}, "task_type"),
        ({"task_type": "juggling"}, "task_type"),
        ({"task_type": "debugging", "project": "x" * 201}, "project"),
        ({"task_type": "debugging", "model": "m" * 201}, "model"),
        ({"task_type": "debugging", "days": "0"}, "days"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(client, params, field):
    response = client.get("/api/recommendations", params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    if field == "task_type":
        assert "debugging" in response.json()["errors"]["task_type"][0]
