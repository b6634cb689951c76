"""Bad input: each problem is named (file, record, reason), the rest imports, exit non-zero."""

from __future__ import annotations

import json
import shutil

import pytest
from django.db import DataError, connections

from records.importer import service, writer
from records.management.commands.import_legacy import Command
from records.models import ImportRun, TaskRecord
from records.recording.schema import MAX_LIST_ITEMS
from tests.records.legacy_helpers import (
    SAMPLES,
    assessment,
    patterns_dir,
    quality_history,
    run_failing_import,
    run_import,
    write_json,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    """A .claude-patterns folder holding one good quality_history.json with two records."""
    folder = patterns_dir(tmp_path)
    write_json(
        folder / "quality_history.json", quality_history(assessment("good-1"), assessment("good-2"))
    )
    return folder


def broken_file_case(folder, content: bytes):
    (folder / "performance_records.json").write_bytes(content)
    result = run_failing_import(folder)
    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}
    assert "performance_records.json" in result.error
    assert "performance_records.json" in result.err
    row = next(
        line for line in result.out.splitlines() if line.startswith(".claude-patterns/performance")
    )
    assert row.split()[-4:] == ["-", "-", "-", "-"]
    assert "Traceback" not in result.out + result.err
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert run.created == 2
    return result


def good_records_text(*ids: str) -> bytes:
    return json.dumps({"records": [assessment(i) for i in ids]}, indent=2).encode()


def test_a_truncated_file_beside_a_good_one(folder):
    text = good_records_text("cut-1", "cut-2", "cut-3")

    result = broken_file_case(folder, text[: len(text) * 2 // 3])

    assert "truncated JSON" in result.err
    # Nothing of the broken file is half-imported: its complete first records are not in either.
    assert not TaskRecord.objects.filter(record_id__startswith="cut-").exists()


def test_invalid_json(folder):
    result = broken_file_case(folder, b'{"records": [{"assessment_id": "x",, }]}')

    assert "invalid JSON near byte" in result.err


def test_an_empty_file(folder):
    result = broken_file_case(folder, b"")

    assert "empty file" in result.err


def test_a_file_of_whitespace(folder):
    result = broken_file_case(folder, b"  \n\n  ")

    assert "empty file (whitespace only)" in result.err


def test_bytes_that_are_not_utf8(folder):
    text = good_records_text("latin-1").replace(b'"quality-control"', b'"qualit\xe9"')

    result = broken_file_case(folder, text)

    assert "not UTF-8" in result.err


def test_a_file_holding_a_single_value(folder):
    result = broken_file_case(folder, b'"just a string"')

    assert "not an object or a list" in result.err


def test_a_byte_order_mark_is_accepted(folder):
    (folder / "performance_records.json").write_bytes(b"\xef\xbb\xbf" + good_records_text("bom-1"))
    run_import(folder)

    assert TaskRecord.objects.filter(record_id="bom-1").exists()


def test_an_unreadable_timestamp_is_reported_and_its_neighbours_import(folder):
    write_json(
        folder / "quality_history.json",
        quality_history(
            assessment("before"),
            assessment("bad-time", timestamp="last tuesday"),
            assessment("after"),
        ),
    )

    result = run_failing_import(folder)

    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"before", "after"}
    assert (
        ".claude-patterns/quality_history.json, record 1 (quality_assessments; "
        'assessment_id bad-time): timestamp: unreadable timestamp "last tuesday"'
    ) in result.err
    assert "1 record failed (.claude-patterns/quality_history.json)" in result.error
    assert "unreadable timestamp" in result.error
    run = ImportRun.objects.get()
    assert run.errors[0] == {
        "file": ".claude-patterns/quality_history.json",
        "index": 1,
        "location": "quality_assessments",
        "record": "assessment_id bad-time",
        "reason": 'timestamp: unreadable timestamp "last tuesday"',
        "level": "error",
    }
    row = next(line for line in result.out.splitlines() if line.startswith(".claude-patterns/"))
    assert row.split()[-4:] == ["2", "0", "0", "1"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"overall_score": "excellent"}, 'overall_score: must be a number, got "excellent"'),
        ({"overall_score": True}, "overall_score: must be a number, got true"),
        (
            {"issues_found": {"count": 2}},
            "issues_found: must be a list of strings, got a JSON object",
        ),
        ({"skills_used": 5}, "skills_used: must be a list of strings, got 5"),
        ({"skills_used": ["ok", 7]}, "skills_used: must be a list of strings, got an item 7"),
        ({"success": "maybe"}, 'success: must be true or false, got "maybe"'),
        ({"model_used": ["GLM"]}, "model_used: must be a string, got a list"),
        ({"task_type": 12}, "task_type: must be a string, got 12"),
        ({"details": {"duration_seconds": "slow"}}, "details.duration_seconds: must be a number"),
        ({"details": {"files_modified": 2.5}}, "details.files_modified: must be a whole number"),
        ({"assessment_id": {"id": 1}}, "assessment_id: must be a string, got a JSON object"),
        ({"timestamp": True}, "timestamp: unreadable timestamp true"),
        ({"timestamp": "2025-13-45T99:00:00Z"}, "timestamp: unreadable timestamp"),
        ({"timestamp": "1850-01-01T00:00:00Z"}, "timestamp: unreadable timestamp"),
    ],
)
def test_wrong_field_types_fail_that_record_only(folder, fields, message):
    bad = assessment("bad")
    bad.update(fields)
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), bad, assessment("good-2")),
    )

    result = run_failing_import(folder)

    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}
    assert ".claude-patterns/quality_history.json, record 1" in result.err
    assert message in result.err


def test_every_bad_field_of_a_record_is_named(folder):
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("bad", overall_score="high", success="perhaps", skills_used=3)),
    )

    result = run_failing_import(folder)

    line = next(line for line in result.err.splitlines() if "record 0" in line)
    assert "overall_score" in line and "success" in line and "skills_used" in line


def test_records_that_are_not_objects_or_have_no_identity_fail(folder):
    no_identity = assessment(None)
    del no_identity["timestamp"]
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), "not a record", [1, 2], no_identity),
    )

    result = run_failing_import(folder)

    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == ["good-1"]
    assert 'record 1 (quality_assessments): a record must be a JSON object, got "not a record"' in (
        result.err
    )
    assert (
        "record 2 (quality_assessments): a record must be a JSON object, got a list" in result.err
    )
    assert (
        "record 3 (quality_assessments): timestamp: a record needs an assessment_id" in result.err
    )


def test_a_new_record_without_a_timestamp_fails(folder):
    no_time = assessment("no-time")
    del no_time["timestamp"]
    write_json(folder / "quality_history.json", quality_history(assessment("good-1"), no_time))

    result = run_failing_import(folder)

    assert "no-time" in result.err
    assert "timestamp: missing" in result.err
    assert not TaskRecord.objects.filter(record_id="no-time").exists()


def test_nul_characters_are_refused_on_every_database(folder):
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), assessment("nul", description="a\u0000b")),
    )

    result = run_failing_import(folder)

    assert "NUL characters" in result.err
    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == ["good-1"]


def test_a_record_list_that_is_not_a_list_is_noted(folder):
    write_json(folder / "performance_records.json", {"records": {"a": 1}})
    result = run_import(folder)

    assert "'records' is not a list; nothing read from it" in result.out


def test_a_missing_path_is_named_and_the_other_paths_still_import(folder, tmp_path):
    result = run_failing_import(tmp_path / "nowhere", folder)

    assert TaskRecord.objects.count() == 2
    assert "nowhere" in result.error
    assert "no such file or directory" in result.err


def test_a_directory_without_legacy_files_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()

    result = run_failing_import(tmp_path / "empty")

    assert "no .claude-patterns directory or legacy JSON file found here" in result.err


def test_an_unreadable_file_is_reported(folder):
    path = folder / "performance_records.json"
    path.write_bytes(good_records_text("locked"))
    path.chmod(0)
    try:
        if path.stat().st_mode & 0o400 or _can_read(path):
            pytest.skip("running as a user who can read any file")
        result = broken_file_case(folder, good_records_text("locked"))
    finally:
        path.chmod(0o644)
    assert "cannot read" in result.err


def _can_read(path) -> bool:
    try:
        path.read_bytes()
    except PermissionError:
        return False
    return True


def test_the_real_command_line_exits_with_status_1_and_no_traceback(folder, capsys, monkeypatch):
    (folder / "performance_records.json").write_bytes(b'{"records": [')
    # run_from_argv closes every connection when it ends; the test's own must stay open.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "import_legacy", str(folder)])

    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert (
        "CommandError: Import finished with failures: 1 file could not be imported" in captured.err
    )
    assert TaskRecord.objects.count() == 2


def test_good_sample_folders_next_to_a_broken_one_still_import(tmp_path):
    shutil.copytree(SAMPLES / "recorder-v3.7", tmp_path / "a")
    broken = patterns_dir(tmp_path / "b")
    (broken / "quality_history.json").write_text('{"quality_assessments": [{"assessment_id": "x"')

    result = run_failing_import(tmp_path)

    assert TaskRecord.objects.count() == 21
    assert "b/.claude-patterns/quality_history.json" in result.error


def test_past_the_cap_failures_are_counted_not_listed(folder, monkeypatch):
    monkeypatch.setattr(service, "MAX_STORED_ERRORS", 3)
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), *["bad"] * 5),
    )

    result = run_failing_import(folder)

    assert result.err.count("a record must be a JSON object") == 3
    assert "error: 2 more errors not shown" in result.err
    run = ImportRun.objects.get()
    assert run.failed == 5
    assert run.errors[-1] == {"level": "error", "reason": "2 more errors not stored"}


def test_a_record_the_database_refuses_fails_alone(folder, monkeypatch):
    real_insert = writer.insert_rows

    def refuse_poison(model, rows, **kwargs):
        if any(row.get("record_id") == "poison" for row in rows):
            raise DataError("value too long for type character varying(200)")
        return real_insert(model, rows, **kwargs)

    monkeypatch.setattr(writer, "insert_rows", refuse_poison)
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), assessment("poison"), assessment("good-2")),
    )

    result = run_failing_import(folder)

    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}
    assert "record 1" in result.err
    assert "the database refused it: value too long" in result.err


def test_lists_are_limited_on_import_as_on_every_door(folder):
    """One record naming 100,000 skills made 100,000 rows (and an admin page that timed out);
    the importer keeps the schema's first 500 and says so."""
    skills = [f"skill-{i}" for i in range(100_000)]
    issues = [f"issue {i}" for i in range(600)]
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("wide", skills_used=skills, issues_found=issues)),
    )

    result = run_import(folder)

    record = TaskRecord.objects.get(record_id="wide")
    assert record.skills.count() == MAX_LIST_ITEMS
    assert len(record.issues) == MAX_LIST_ITEMS
    assert "skills_used: 100000 items; the first 500 are kept" in result.err
    assert "issues_found: 600 items; the first 500 are kept" in result.err


def test_look_alike_model_names_are_one_model_on_import(folder):
    """NFC and NFD spellings, zero-width and bidi characters make one model, not four."""
    spellings = ["Modèle 1", "Mode\u0300le 1", "Mod\u200bèle 1", "\u202eModèle 1"]
    write_json(
        folder / "quality_history.json",
        quality_history(
            *(assessment(f"m{i}", model_used=name) for i, name in enumerate(spellings))
        ),
    )

    run_import(folder)

    assert set(TaskRecord.objects.values_list("model__name", flat=True)) == {"Modèle 1"}
