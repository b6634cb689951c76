"""The old tool's JSON API: ``/api/recent-performance-records`` and ``/api/summary``."""

from __future__ import annotations

import pytest

from records.stats.selectors import performance_summary
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 60
LEGACY_KEYS = {
    "records",
    "total_records",
    "showing_records",
    "task_type_stats",
    "auto_generated_count",
    "manual_assessment_count",
    "last_updated",
}
RECORD_KEYS = {
    "assessment_id",
    "timestamp",
    "task_type",
    "overall_score",
    "performance_index",
    "time_efficiency",
    "quality_improvement",
    "model_used",
    "auto_generated",
    "pass",
    "success",
    "description",
    "skills_used",
    "agents_delegated",
    "duration",
    "issues_found",
    "recommendations",
}


def test_recent_records_has_the_legacy_keys_and_shape(client):
    record = TaskRecordFactory(
        task_type="debugging",
        skills=["code-analysis"],
        agents=["validation-controller"],
        issues=["Long function"],
        recommendations=["Split it"],
        quality_score=65.0,
    )

    response = client.get("/api/recent-performance-records", {"days": "7"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= LEGACY_KEYS
    [row] = body["records"]
    assert set(row) >= RECORD_KEYS
    assert row["assessment_id"] == record.record_id
    assert row["timestamp"].endswith("Z")
    assert (row["overall_score"], row["pass"]) == (65.0, False)
    assert row["model_used"] == "Claude Sonnet 4.5"
    assert row["skills_used"] == ["code-analysis"]
    assert row["agents_delegated"] == ["validation-controller"]
    assert row["issues_found"] == ["Long function"]
    assert row["recommendations"] == ["Split it"]
    assert row["duration"] == record.duration_seconds


def test_recent_records_counts_all_days_but_shows_the_newest_50(client):
    for i in range(55):
        TaskRecordFactory(minutes_ago=i + 1, auto_generated=i % 5 != 0, task_type="coding")
    TaskRecordFactory(minutes_ago=DAY * 3, task_type="testing", manual=True)
    TaskRecordFactory(minutes_ago=DAY * 10)  # outside days=7

    body = client.get("/api/recent-performance-records", {"days": "7"}).json()

    assert body["total_records"] == 56
    assert body["showing_records"] == len(body["records"]) == 50
    stamps = [r["timestamp"] for r in body["records"]]
    assert stamps == sorted(stamps, reverse=True)
    assert body["auto_generated_count"] == 44
    assert body["manual_assessment_count"] == 12
    assert {k: v["count"] for k, v in body["task_type_stats"].items()} == {
        "coding": 55,
        "testing": 1,
    }


def test_recent_records_without_days_counts_all_records(client):
    TaskRecordFactory(minutes_ago=DAY * 20)
    TaskRecordFactory(minutes_ago=DAY * 400)

    assert client.get("/api/recent-performance-records").json()["total_records"] == 2
    assert client.get("/api/recent-performance-records?days=30").json()["total_records"] == 1


@pytest.mark.parametrize("url", ["/api/recent-performance-records", "/api/summary"])
@pytest.mark.parametrize("days", ["abc", "0", "-3", "1.5", "99999999", "7; DROP TABLE"])
def test_bad_days_is_a_400_naming_the_parameter(client, url, days):
    response = client.get(url, {"days": days})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["days"]
    assert "days must be a whole number" in response.json()["errors"]["days"][0]


def test_summary_is_get_performance_summary_as_json(client):
    glm = AIModelFactory(name="GLM 4.6")
    TaskRecordFactory(task_type="debugging", model=glm, quality_score=80.0)
    TaskRecordFactory(task_type="coding", quality_score=60.0, success=False)

    body = client.get("/api/summary", {"days": "7"}).json()

    expected = performance_summary(days=7)
    for key in ("period_start", "period_end"):
        body.pop(key), expected.pop(key)
    assert body == expected
    assert body["total_tasks"] == 2


def test_script_in_description_is_escaped_in_json(client):
    TaskRecordFactory(description='<script>alert("x")</script> & more')

    response = client.get("/api/recent-performance-records", {"days": "30"})

    assert b"<script>" not in response.content
    assert b"</script>" not in response.content
    assert response.json()["records"][0]["description"] == '<script>alert("x")</script> & more'
