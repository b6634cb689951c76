"""export_records, and its JSON Lines imported back by import_legacy: the same records, exactly."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from records.models import Agent, AIModel, ImportRun, Skill, TaskRecord
from records.recorder import record_task_performance
from records.recording.services import records_delete
from records.stats.exports import FIELDS
from tests.records.test_rollups import TABLES, rebuild, snapshot, without_ids

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "legacy"


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_records", *args, stdout=out)
    return out.getvalue()


def import_legacy(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_legacy", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def lines_of(text: str) -> tuple[dict, list[dict]]:
    header, *rows = (json.loads(line) for line in text.splitlines())
    return header, rows


def rollups_by_name() -> dict:
    """Every rollup row keyed by model, skill and agent names (ids differ in a fresh database)."""
    names = {
        "model_id": dict(AIModel.objects.values_list("pk", "name")),
        "skill_id": dict(Skill.objects.values_list("pk", "name")),
        "agent_id": dict(Agent.objects.values_list("pk", "name")),
    }
    named = {}
    for table in TABLES:
        rows = []
        for row in table.objects.values().order_by():
            del row["id"]
            for column, lookup in names.items():
                if column in row:
                    row[column] = lookup[row[column]]
            rows.append(sorted(row.items()))
        named[table.__name__] = sorted(rows, key=repr)
    return named


def empty_the_database() -> None:
    records_delete(TaskRecord.objects.all())
    AIModel.objects.all().delete()
    Skill.objects.all().delete()
    Agent.objects.all().delete()
    assert snapshot() == {"TypeRollup": [], "Rollup": [], "SkillRollup": [], "AgentRollup": []}


@pytest.fixture
def history():
    """Demo, recorder and legacy records: every source, manual scores, skills, agents, merges."""
    call_command("seed_demo", "--records", "300", "--seed", "11", stdout=StringIO())
    record_task_performance(
        {
            "task_type": "bug_fix",
            "description": 'Fix <script>alert("x")</script> and ünïcødé — 🚀',
            "duration": 321.5,
            "skills_used": ["code-analysis", "testing-strategies"],
            "agents_delegated": ["code-analyzer"],
            "issues_found": ["one", "two"],
            "recommendations": ["add a test"],
            "quality_score": 88.8,
            "auto_generated": False,
            "recorded_at": "2025-01-02T03:04:05.123456+02:00",
        },
        "claude-sonnet-4-5-20250929",
    )
    import_legacy(str(SAMPLES))
    assert TaskRecord.objects.count() == 381


def test_an_export_imported_into_an_emptied_database_reproduces_every_record(history, tmp_path):
    text = export()
    header, rows = lines_of(text)
    assert header == {"perfsite_export": 1, "fields": FIELDS}
    assert len(rows) == 381
    assert {row["source"] for row in rows} >= {"demo", "recorder"}
    assert any(len(row["raw"]) > 1 for row in rows)  # merged legacy records, every payload kept
    rollups_before = rollups_by_name()
    path = tmp_path / "backup.jsonl"
    path.write_text(text, encoding="utf-8")

    empty_the_database()
    out, err = import_legacy(str(path))

    assert "Created 381 records" in out, out + err
    assert err == ""
    assert export() == text  # every exported field of every record, byte for byte
    incremental = snapshot()
    assert rollups_by_name() == rollups_before
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)
    run = ImportRun.objects.latest("pk")
    assert (run.status, run.created, run.skipped, run.failed) == ("ok", 381, 0, 0)


def test_importing_an_export_again_creates_nothing(history, tmp_path):
    path = tmp_path / "backup.jsonl"
    path.write_text(export(), encoding="utf-8")
    rollups = snapshot()

    out, err = import_legacy(str(path))

    assert "Nothing new" in out and "381 payloads skipped" in out
    assert err == ""
    assert TaskRecord.objects.count() == 381
    assert snapshot() == rollups


def test_a_stored_record_that_differs_is_kept_and_reported(history, tmp_path):
    path = tmp_path / "backup.jsonl"
    path.write_text(export(), encoding="utf-8")
    changed = TaskRecord.objects.order_by("pk").first()
    TaskRecord.objects.filter(pk=changed.pk).update(description="edited after the export")

    _out, err = import_legacy(str(path))

    assert "already stored with different values" in err
    assert f"record_id {changed.record_id}" in err
    changed.refresh_from_db()
    assert changed.description == "edited after the export"


def test_dry_run_restores_nothing(history, tmp_path):
    path = tmp_path / "backup.jsonl"
    path.write_text(export(), encoding="utf-8")
    empty_the_database()

    out, _err = import_legacy(str(path), "--dry-run")

    assert "A real run would create 381 records" in out
    assert TaskRecord.objects.count() == 0
    assert snapshot() == {"TypeRollup": [], "Rollup": [], "SkillRollup": [], "AgentRollup": []}


def test_bad_lines_are_reported_by_line_number_and_the_rest_is_restored(tmp_path):
    for i in range(3):
        record_task_performance({"task_type": "coding", "description": f"task {i}"}, "GLM-4.6")
    header, *good = export().splitlines()
    broken = json.loads(good[1])
    broken["quality_score"] = "high"
    broken["task_type"] = "cooking"
    lines = [header, good[0], json.dumps(broken), "{not json", "[1, 2]", good[2]]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    empty_the_database()

    with pytest.raises(CommandError, match="3 records failed"):
        import_legacy(str(path))

    assert TaskRecord.objects.count() == 2
    run = ImportRun.objects.latest("pk")
    errors = {(e["index"], e.get("unit")): e["reason"] for e in run.errors}
    assert set(errors) == {(3, "line"), (4, "line"), (5, "line")}
    assert "quality_score: must be a number" in errors[3, "line"]
    assert "task_type: must be one of" in errors[3, "line"]
    assert "invalid JSON" in errors[4, "line"]
    assert "must be a JSON object" in errors[5, "line"]
    assert run.failed == 3


def test_a_jsonl_file_without_the_export_header_fails_clearly(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text('{"record_id": "x"}\n', encoding="utf-8")

    with pytest.raises(CommandError, match="could not be imported"):
        import_legacy(str(path))
    run = ImportRun.objects.latest("pk")
    assert "not a perfsite export" in run.errors[0]["reason"]
    assert TaskRecord.objects.count() == 0


def test_an_export_in_a_folder_is_found_beside_legacy_files(tmp_path):
    record_task_performance({"task_type": "testing", "description": "from a backup"}, "GLM-4.6")
    folder = tmp_path / ".claude-patterns"
    folder.mkdir()
    (folder / "perfsite-backup.jsonl").write_text(export(), encoding="utf-8")
    (folder / "notes.jsonl").write_text('{"a": 1}\n', encoding="utf-8")
    empty_the_database()

    out, _err = import_legacy(str(folder))

    assert TaskRecord.objects.get().description == "from a backup"
    assert "perfsite export" in out
    assert "JSON Lines without the perfsite_export header" in out


def test_csv_export_has_a_header_and_one_row_per_record_with_lists_as_json():
    record_task_performance(
        {
            "task_type": "coding",
            "description": 'Comma, "quotes"\nand a newline',
            "skills_used": ["code-analysis", "pattern-learning"],
            "agents_delegated": ["code-analyzer"],
            "issues_found": ["a"],
        },
        "GLM-4.6",
    )
    record_task_performance({"task_type": "testing", "description": "second"}, "GLM-4.6")
    jsonl = {row["record_id"]: row for row in lines_of(export())[1]}

    rows = list(csv.reader(io.StringIO(export("--format", "csv"))))

    assert rows[0] == FIELDS
    assert len(rows) == 3
    for values in rows[1:]:
        row = dict(zip(FIELDS, values, strict=True))
        expected = jsonl[row["record_id"]]
        for name in ("skills", "agents", "issues", "recommendations", "score_breakdown", "raw"):
            assert json.loads(row[name]) == expected[name]
        assert row["description"] == expected["description"]
        assert row["quality_score"] == str(expected["quality_score"])
    first = next(r for r in rows[1:] if r[FIELDS.index("description")].startswith("Comma"))
    assert json.loads(first[FIELDS.index("skills")]) == ["code-analysis", "pattern-learning"]


def test_days_limits_the_export_to_recent_records():
    now = timezone.now()
    for days_ago in (0.5, 2.5, 10):
        record_task_performance(
            {
                "task_type": "coding",
                "description": f"{days_ago} days ago",
                "recorded_at": (now - timedelta(days=days_ago)).isoformat(),
            },
            "GLM-4.6",
        )

    def descriptions(*args):
        return [row["description"] for row in lines_of(export(*args))[1]]

    assert descriptions("--days", "1") == ["0.5 days ago"]
    assert descriptions("--days", "3") == ["2.5 days ago", "0.5 days ago"]  # oldest first
    assert len(descriptions()) == 3
    with pytest.raises(CommandError, match="--days"):
        export("--days", "0")


def test_export_times_are_utc_instants_that_restore_to_the_same_moment(tmp_path):
    at = datetime(2025, 6, 1, 12, 30, 15, 250000, tzinfo=UTC)
    record_task_performance(
        {"task_type": "coding", "description": "x", "recorded_at": at.isoformat()}, "GLM-4.6"
    )
    path = tmp_path / "e.jsonl"
    path.write_text(export(), encoding="utf-8")
    empty_the_database()
    import_legacy(str(path))
    assert TaskRecord.objects.get().recorded_at == at


def nested(depth: int) -> dict:
    value: dict = {"leaf": True}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


def test_every_accepted_payload_restores_even_at_the_depth_limit(tmp_path):
    """The export wraps each payload in its raw list: that must not push a payload the API
    accepted (nested to the limit) over the limit on restore."""
    from records.recording.schema import MAX_JSON_DEPTH

    record_task_performance({"task_type": "coding", "deep": nested(MAX_JSON_DEPTH - 1)})
    record_task_performance({"task_type": "testing", "plain": 1})
    path = tmp_path / "records.jsonl"
    path.write_text(export(), encoding="utf-8")
    records_delete(TaskRecord.objects.all())

    _out, err = import_legacy(str(path))
    assert err == ""
    assert TaskRecord.objects.count() == 2


def test_an_export_with_names_longer_than_the_limit_restores_in_full(tmp_path):
    """Older Perfsite on SQLite stored model names up to 201 characters after normalisation;
    their export restores with the name capped as every door caps it."""
    record_task_performance({"task_type": "coding"}, "Claude Sonnet 4.5")
    _header, rows = lines_of(export())
    rows[0]["model"] = "GPT-" + "x" * 197
    rows[0]["skills"] = ["s" * 201]
    path = tmp_path / "old.jsonl"
    header = {"perfsite_export": 1, "fields": FIELDS}
    path.write_text("\n".join(json.dumps(line) for line in [header, *rows]), encoding="utf-8")
    records_delete(TaskRecord.objects.all())

    _out, err = import_legacy(str(path))
    assert err == ""
    restored = TaskRecord.objects.get()
    assert restored.model.name == ("GPT-" + "x" * 197)[:200]
    assert list(restored.skills.values_list("name", flat=True)) == ["s" * 200]


def test_session_tokens_and_cost_survive_the_round_trip(tmp_path):
    record_task_performance(
        {
            "task_type": "coding",
            "session_id": "s-1",
            "project": "storefront",
            "git_branch": "main",
            "input_tokens": 10,
            "output_tokens": 20,
            "cost_usd": 0.25,
        },
        "Claude Sonnet 4.5",
    )
    first = export()
    path = tmp_path / "records.jsonl"
    path.write_text(first, encoding="utf-8")
    records_delete(TaskRecord.objects.all())

    import_legacy(str(path))

    assert export() == first
    restored = TaskRecord.objects.get()
    assert (restored.session_id, restored.project, restored.cost_usd) == ("s-1", "storefront", 0.25)


def test_an_export_written_before_the_context_columns_restores_with_them_empty(tmp_path):
    from records.stats.exports import LATER_FIELDS

    record_task_performance({"task_type": "coding", "input_tokens": 5}, "Claude Sonnet 4.5")
    _header, rows = lines_of(export())
    old_fields = [name for name in FIELDS if name not in LATER_FIELDS]
    old_rows = [{name: row[name] for name in old_fields} for row in rows]
    path = tmp_path / "old.jsonl"
    header = {"perfsite_export": 1, "fields": old_fields}
    path.write_text("\n".join(json.dumps(line) for line in [header, *old_rows]), encoding="utf-8")
    records_delete(TaskRecord.objects.all())

    _out, err = import_legacy(str(path))

    assert err == ""
    restored = TaskRecord.objects.get()
    assert (restored.input_tokens, restored.cost_usd, restored.project) == (None, None, "")
