"""Records added, changed and deleted in the admin go through the write services: classified,
scored, linked and counted in the rollups in the same transaction (issue 12, one write path)."""

from datetime import timedelta

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from records.models import Rollup, Skill, TaskRecord
from records.recorder import record_task_performance
from records.rules.scoring import score_task
from tests.records.test_rollups import rebuild, snapshot, without_ids

pytestmark = pytest.mark.django_db

ADD = "admin:records_taskrecord_add"
CHANGE = "admin:records_taskrecord_change"
DELETE = "admin:records_taskrecord_delete"
CHANGELIST = "admin:records_taskrecord_changelist"


def post_data(form: forms.Form, **changes) -> dict[str, str]:
    """What a browser submits for ``form`` as shown (its initial values), with ``changes``."""
    values = {name: form[name].value() for name in form.fields} | changes
    data: dict[str, str] = {}
    for name, field in form.fields.items():
        value = values[name]
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(field, forms.SplitDateTimeField):
            local = timezone.localtime(value) if value else None
            data[f"{name}_0"] = local.date().isoformat() if local else ""
            data[f"{name}_1"] = local.strftime("%H:%M:%S") if local else ""
        else:
            data[name] = "" if value is None else str(value)
    return data


def shown_form(client, url: str) -> forms.Form:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["adminform"].form


def admin_add(client, **changes):
    form = shown_form(client, reverse(ADD))
    return client.post(reverse(ADD), post_data(form, **changes))


def admin_change(client, record: TaskRecord, **changes):
    url = reverse(CHANGE, args=[record.pk])
    return client.post(url, post_data(shown_form(client, url), **changes))


def record(**task) -> TaskRecord:
    """A record made the way real recordings make them (recorder API: rollups, names, raw)."""
    data = {"task_type": "coding", "description": "Implement the export", "duration": 200} | task
    return TaskRecord.objects.get(record_id=record_task_performance(data, "GLM-4.6"))


def assert_rollups_exact_and_summary_counts_every_record(client) -> None:
    incremental = snapshot()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)
    summary = client.get("/api/summary?days=30").json()
    assert summary["total_tasks"] == TaskRecord.objects.count()


def test_adding_changing_and_deleting_in_the_admin_keeps_rollups_exact(admin_client):
    hour_ago = timezone.now() - timedelta(hours=1)
    made = [
        record(
            success=True,
            skills_used=["code-analysis"],
            agents_delegated=["code-analyzer"] if i % 2 else [],
            recorded_at=(hour_ago - timedelta(days=i * 3)).isoformat(),
        )
        for i in range(6)
    ]

    response = admin_add(
        admin_client,
        task_label="bug_fix",
        description="Fix the login redirect loop",
        model_name="claude-sonnet-4-5",
        duration_seconds=300,
        skill_names="code-analysis, pattern-learning",
        agent_names="code-analyzer",
        issues="Long function\nMissing test",
        recorded_at=hour_ago,
    )
    assert response.status_code == 302
    added = TaskRecord.objects.get(source="admin")

    changed = made[0]
    response = admin_change(
        admin_client,
        changed,
        success=False,
        duration_seconds=4000,
        skill_names="testing-strategies",
    )
    assert response.status_code == 302

    response = admin_client.post(reverse(DELETE, args=[made[1].pk]), {"post": "yes"})
    assert response.status_code == 302
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "delete_selected",
            "_selected_action": [made[2].pk, made[3].pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302

    assert TaskRecord.objects.count() == 4
    assert not TaskRecord.objects.filter(pk__in=[m.pk for m in made[1:4]]).exists()
    assert_rollups_exact_and_summary_counts_every_record(admin_client)

    # The added record is classified and scored by the contract, its names linked.
    assert added.task_type == "debugging"
    expected = score_task(success=True, issues_count=2, duration_seconds=300)
    assert added.quality_score == expected.quality_score == 90.9
    assert added.performance_index == expected.performance_index
    assert added.time_efficiency == expected.time_efficiency
    assert added.model.name == "Claude Sonnet 4.5"
    assert sorted(added.skills.values_list("name", flat=True)) == [
        "code-analysis",
        "pattern-learning",
    ]
    assert list(added.agents.values_list("name", flat=True)) == ["code-analyzer"]
    assert added.raw[0]["source"] == "admin"
    assert added.raw[0]["payload"]["task_type"] == "bug_fix"

    # The changed record is re-scored and relinked, and keeps its identity and history.
    after = TaskRecord.objects.get(pk=changed.pk)
    rescored = score_task(success=False, duration_seconds=4000)
    assert (after.success, after.duration_seconds) == (False, 4000)
    assert after.quality_score == rescored.quality_score
    assert after.performance_index == rescored.performance_index
    assert after.time_efficiency == rescored.time_efficiency
    assert list(after.skills.values_list("name", flat=True)) == ["testing-strategies"]
    assert (after.record_id, after.source, after.created_at) == (
        changed.record_id,
        changed.source,
        changed.created_at,
    )
    assert [entry["source"] for entry in after.raw] == ["recorder", "admin"]
    assert after.raw[1]["payload"]["success"] is False
    assert after.raw[1]["payload"]["skills_used"] == ["testing-strategies"]


def test_moving_a_record_in_time_moves_it_between_rollup_periods(admin_client):
    old = record(recorded_at=(timezone.now() - timedelta(days=45)).isoformat())
    record()
    assert admin_client.get("/api/summary?days=30").json()["total_tasks"] == 1

    response = admin_change(
        admin_client, old, recorded_at=timezone.now() - timedelta(hours=2), description="Move"
    )

    assert response.status_code == 302
    assert_rollups_exact_and_summary_counts_every_record(admin_client)
    assert admin_client.get("/api/summary?days=30").json()["total_tasks"] == 2


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"duration_seconds": -5}, "duration_seconds", "Must not be negative."),
        ({"files_modified": -1}, "files_modified", "Must not be negative."),
        ({"task_label": "", "description": ""}, "task_label", "Give a task_type or a description."),
        (
            {"recorded_at": timezone.now().replace(year=1999)},
            "recorded_at",
            "Must be an ISO 8601 timestamp, e.g. 2025-10-21T11:28:00Z. Years 2000-2100.",
        ),
        (
            {"quality_improvement": 150},
            "quality_improvement",
            "Must be between -100 and 100 points.",
        ),
    ],
)
def test_an_invalid_add_shows_the_error_on_its_field_and_writes_nothing(
    admin_client, changes, field, message
):
    task = {"task_label": "coding", "description": "Add a flag", "skill_names": "new-skill"}

    response = admin_add(admin_client, **(task | changes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert message in response.content.decode()
    assert not TaskRecord.objects.exists()
    assert not Rollup.objects.exists()
    assert not Skill.objects.exists()


def test_an_invalid_change_shows_the_error_and_leaves_the_record_and_rollups_alone(admin_client):
    stored = record(skills_used=["code-analysis"])
    before = snapshot()

    response = admin_change(admin_client, stored, duration_seconds=-1, skill_names="other")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["duration_seconds"] == [
        "Must not be negative."
    ]
    after = TaskRecord.objects.get(pk=stored.pk)
    assert (after.duration_seconds, after.raw) == (stored.duration_seconds, stored.raw)
    assert list(after.skills.values_list("name", flat=True)) == ["code-analysis"]
    assert snapshot() == before


def without_given(breakdown: dict) -> dict:
    return {key: value for key, value in breakdown.items() if key != "given"}


def test_editing_one_field_keeps_the_scoring_inputs_that_have_no_column(admin_client):
    """Code quality, best practices, documentation and a given improvement live only in the
    breakdown and the raw payload; the change form reads them back, so an unrelated edit does
    not silently re-score the record."""
    given = record(
        code_quality=80,
        best_practices_followed=False,
        documentation_updated=True,
        quality_improvement=4.5,
    )
    manual = record(quality_score=88, success=False)

    for stored in (given, manual):
        response = admin_change(admin_client, stored, lines_changed=42)
        assert response.status_code == 302
        after = TaskRecord.objects.get(pk=stored.pk)
        assert after.lines_changed == 42
        assert after.quality_score == stored.quality_score
        assert after.performance_index == stored.performance_index
        # Every component is kept; "given" now also lists the checkboxes the person saved.
        assert without_given(after.score_breakdown) == without_given(stored.score_breakdown)
        assert set(stored.score_breakdown["given"]) <= set(after.score_breakdown["given"])
        assert after.recorded_at == stored.recorded_at
    assert TaskRecord.objects.get(pk=given.pk).quality_improvement == 4.5
    assert TaskRecord.objects.get(pk=manual.pk).quality_score == 88


def test_derived_columns_are_read_only_and_posting_them_changes_nothing(admin_client):
    stored = record(success=True, duration=100)
    url = reverse(CHANGE, args=[stored.pk])
    body = admin_client.get(url).content.decode()
    assert 'name="quality_score"' not in body and 'name="task_type"' not in body
    assert "recordskill_set-TOTAL_FORMS" not in body  # no inline writing links directly
    assert str(stored.quality_score) in body

    data = post_data(shown_form(admin_client, url), description="Implement the import")
    data |= {"quality_score": "5", "task_type": "general", "performance_index": "1"}
    data |= {"recordskill_set-TOTAL_FORMS": "1", "recordskill_set-0-skill": "1"}
    assert admin_client.post(url, data).status_code == 302

    after = TaskRecord.objects.get(pk=stored.pk)
    assert after.quality_score == score_task(success=True, duration_seconds=100).quality_score
    assert after.task_type == "coding"
    assert not after.skills.exists()
    assert_rollups_exact_and_summary_counts_every_record(admin_client)


def test_saving_an_unchanged_record_writes_nothing(admin_client):
    stored = record(skills_used=["code-analysis"])

    assert admin_change(admin_client, stored).status_code == 302

    assert TaskRecord.objects.get(pk=stored.pk).raw == stored.raw


def test_records_added_in_the_admin_have_their_own_source_filter(admin_client):
    record()
    admin_add(admin_client, task_label="testing", description="Write tests for the parser")
    added = TaskRecord.objects.get(source="admin").record_id

    for query, expected in (("source=admin", {added}), ("source=other", set())):
        response = admin_client.get(reverse(CHANGELIST) + "?" + query)
        assert {r.record_id for r in response.context["cl"].result_list} == expected


def test_an_admin_edit_keeps_session_project_tokens_and_a_given_cost(admin_client):
    stored = record(
        session_id="s-9",
        project="storefront",
        git_branch="main",
        input_tokens=1000,
        output_tokens=500,
        cost_usd=0.75,
    )
    assert admin_change(admin_client, stored, lines_changed=7).status_code == 302

    after = TaskRecord.objects.get(pk=stored.pk)
    assert after.lines_changed == 7
    assert (after.session_id, after.project, after.git_branch) == ("s-9", "storefront", "main")
    assert (after.input_tokens, after.output_tokens) == (1000, 500)
    assert (after.cost_usd, after.cost_source) == (0.75, "given")
