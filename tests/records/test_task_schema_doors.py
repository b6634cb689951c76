"""One task schema: every door reads the same task the same way.

Each case is one input with a precedence or scale question (which alias wins, fraction or
points, clamping, name normalisation); it goes through every door that takes new tasks (the
Python recorder, the HTTP API, the record_task command, import_legacy) and must come out as the
same stored record. A door that kept its own reading of a task would fail here.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from records.models import TaskRecord
from records.recorder import record_task_performance
from records.recording.tokens import token_create
from tests.records.legacy_helpers import patterns_dir, run_import, write_json

pytestmark = pytest.mark.django_db

BASE = {"task_type": "debugging", "description": "Fix the login redirect loop"}


def via_recorder(data: dict, tmp_path: Path, client) -> TaskRecord:
    return TaskRecord.objects.get(record_id=record_task_performance(dict(data)))


def via_api(data: dict, tmp_path: Path, client) -> TaskRecord:
    _token, raw = token_create(name="doors")
    response = client.post(
        "/api/records",
        json.dumps(data),
        content_type="application/json",
        headers={"authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content
    return TaskRecord.objects.get(record_id=response.json()["record_id"])


def via_cli(data: dict, tmp_path: Path, client) -> TaskRecord:
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = StringIO()
    call_command("record_task", str(path), stdout=out)
    return TaskRecord.objects.get(record_id=out.getvalue().split()[-1])


def via_import(data: dict, tmp_path: Path, client) -> TaskRecord:
    record = {"assessment_id": "door-check", "timestamp": "2025-10-21T11:28:00Z", **data}
    write_json(patterns_dir(tmp_path) / "performance_records.json", {"records": [record]})
    run_import(tmp_path / ".claude-patterns")
    return TaskRecord.objects.get(record_id="door-check")


DOORS = [via_recorder, via_api, via_cli, via_import]


@pytest.fixture(params=DOORS, ids=lambda door: door.__name__)
def door(request):
    return request.param


@pytest.mark.parametrize(
    ("given", "quality"),
    [
        ({"quality_score": 80, "overall_score": 40}, 80.0),  # quality_score wins
        ({"overall_score": 0.85}, 85.0),  # a fraction is scaled to points
        ({"quality_score": 1.0}, 100.0),  # written with a fraction part: 1.0 is all of it
        ({"quality_score": 1}, 1.0),  # a whole number is points
        ({"overall_score": 140}, 100.0),  # clamped to 0-100
        ({"quality_score": -3}, 0.0),
    ],
)
def test_explicit_scores_mean_the_same_on_every_door(door, tmp_path, client, given, quality):
    record = door(BASE | given, tmp_path, client)
    assert record.quality_score == quality
    assert record.score_breakdown["manual"] is True


def test_code_quality_follows_the_same_fraction_rule(door, tmp_path, client):
    record = door(BASE | {"code_quality": 0.6, "duration": 60}, tmp_path, client)
    assert record.score_breakdown["code_quality"] == 60.0


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        ({"duration": 60, "duration_seconds": 900}, 60.0),  # duration wins
        ({"duration_seconds": 900}, 900.0),
    ],
)
def test_the_duration_alias_rule_is_the_same_on_every_door(door, tmp_path, client, given, seconds):
    record = door(BASE | given, tmp_path, client)
    assert record.duration_seconds == seconds


def test_names_are_cleaned_and_aliases_resolved_alike_on_every_door(door, tmp_path, client):
    given = {
        "model_used": "glm\u200b-4.6",  # a zero-width space inside
        "model": "ignored",
        "skills_used": [
            "code\u00a0analysis",
            "code analysis",
            "\uff54\uff45\uff53\uff54\uff49\uff4e\uff47",
        ],  # NBSP; fullwidth "testing"
        "skills": ["ignored"],
        "agents_delegated": ["test-engineer\u202e"],  # a right-to-left override
    }
    record = door(BASE | given, tmp_path, client)
    assert record.model.name == "GLM 4.6"
    assert list(record.skills.order_by("recordskill__id").values_list("name", flat=True)) == [
        "code analysis",
        "testing",
    ]
    assert list(record.agents.values_list("name", flat=True)) == ["test-engineer"]


def test_a_long_model_name_is_limited_after_normalisation(door, tmp_path, client):
    record = door(BASE | {"model_used": "gpt" + "x" * 197}, tmp_path, client)
    assert record.model.name.startswith("GPT-xxx")
    assert len(record.model.name) == 200


def test_every_door_scores_with_the_same_defaults(door, tmp_path, client):
    """Only success given: the rest of the contract's defaults apply, the same everywhere."""
    record = door(BASE | {"success": False, "duration": 300}, tmp_path, client)
    # efficiency 99 - 180/480*19 = 91.9; 0.30*0 + 0.25*100 + 0.20*91.9 + 0.15*100 + 0.10*50
    assert (record.quality_score, record.time_efficiency) == (63.4, 91.9)
    assert record.score_breakdown["given"] == ["success"]


@pytest.mark.parametrize(("typed", "points"), [("0.85", 85.0), ("1", 1.0), ("140", 100.0)])
def test_the_admin_add_form_reads_scores_and_names_by_the_same_rules(admin_client, typed, points):
    from tests.records.test_admin_writes import admin_add

    response = admin_add(
        admin_client,
        task_label="debugging",
        description="Fix the login redirect loop",
        explicit_quality=typed,
        model_name="glm\u200b-4.6",
        skill_names="code\u00a0analysis, code analysis",
    )
    assert response.status_code == 302
    record = TaskRecord.objects.get(source="admin")
    assert record.quality_score == points
    assert record.model.name == "GLM 4.6"
    assert list(record.skills.values_list("name", flat=True)) == ["code analysis"]


CONTEXT = {
    "model_used": "claude-sonnet-4-5",
    "session_id": "3f2c9a10-session",
    "project": "storefront",
    "git_branch": "fix/login-loop",
    "input_tokens": 1000,
    "output_tokens": 500,
    "cache_read_tokens": 2000,
    "cache_creation_tokens": 100,
}


def test_session_project_branch_and_tokens_are_stored_by_every_door(door, tmp_path, client):
    record = door(BASE | CONTEXT, tmp_path, client)
    stored = {name: getattr(record, name) for name in CONTEXT if name != "model_used"}
    assert stored == {name: value for name, value in CONTEXT.items() if name != "model_used"}


def test_cost_is_computed_from_tokens_and_model_when_not_given(door, tmp_path, client):
    """Claude Sonnet 4.5: $3/M input, $15/M output, $0.30/M cache reads, $3.75/M cache writes."""
    from records.rules.costs import PRICE_SOURCE

    record = door(BASE | CONTEXT, tmp_path, client)
    assert record.cost_usd == pytest.approx(0.003 + 0.0075 + 0.0006 + 0.000375)
    assert record.cost_source == PRICE_SOURCE


def test_a_given_cost_wins_and_an_unknown_model_has_none(door, tmp_path, client):
    given = door(BASE | CONTEXT | {"cost_usd": 0.5}, tmp_path, client)
    assert (given.cost_usd, given.cost_source) == (0.5, "given")


def test_an_unknown_model_leaves_the_cost_empty(door, tmp_path, client):
    record = door(BASE | CONTEXT | {"model_used": "in-house-model-7"}, tmp_path, client)
    assert (record.cost_usd, record.cost_source) == (None, "")
    assert record.input_tokens == 1000
