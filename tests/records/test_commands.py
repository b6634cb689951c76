import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.models import Agent, AIModel, Skill, TaskRecord
from records.recorder import record_task_performance
from records.rules.classification import CANONICAL_TYPES

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_adds_realistic_records():
    output = run("seed_demo", "--records", "600", "--seed", "7")
    assert "Added 600 demo records" in output
    assert TaskRecord.objects.count() == 600
    assert set(TaskRecord.objects.values_list("task_type", flat=True)) == set(CANONICAL_TYPES)
    assert AIModel.objects.count() >= 3
    assert Skill.objects.filter(records__isnull=False).distinct().count() >= 3
    assert Agent.objects.filter(records__isnull=False).distinct().count() >= 3
    auto_share = TaskRecord.objects.filter(auto_generated=True).count() / 600
    assert 0.65 < auto_share < 0.85
    record = TaskRecord.objects.order_by("recorded_at").last()
    assert record.skills.exists()
    assert 0 <= record.quality_score <= 100


def test_seed_demo_adds_to_existing_data_and_if_empty_does_not():
    run("seed_demo", "--records", "50")
    run("seed_demo", "--records", "50")
    assert TaskRecord.objects.count() == 100
    assert "already stored" in run("seed_demo", "--records", "50", "--if-empty")
    assert TaskRecord.objects.count() == 100


def test_seed_demo_rejects_a_negative_count():
    with pytest.raises(CommandError, match="--records"):
        run("seed_demo", "--records", "-1")


def test_performance_summary_json_and_sentences():
    record_task_performance({"task_type": "debugging", "description": "Fix crash"}, "GLM-4.6")
    data = json.loads(run("performance_summary", "--days", "7", "--json"))
    assert data["total_tasks"] == 1
    assert data["models_used"]["GLM 4.6"]["count"] == 1
    text = run("performance_summary", "--days", "7")
    assert "1 tasks were recorded" in text
    assert "GLM 4.6" in text


def test_performance_summary_without_records_says_so():
    assert "No tasks recorded in the last 30 days" in run("performance_summary")


def test_performance_summary_rejects_bad_days():
    with pytest.raises(CommandError, match="days"):
        run("performance_summary", "--days", "0")
