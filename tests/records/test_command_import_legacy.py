"""import_legacy on the real sample folders: counts, idempotency, dry run, paths and the report."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from records.models import Agent, AIModel, ImportRun, RecordSkill, Skill, TaskRecord
from tests.records.legacy_helpers import (
    SAMPLE_COUNTS,
    SAMPLES,
    assessment,
    patterns_dir,
    quality_history,
    run_failing_import,
    run_import,
    write_json,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("folder", "expected"), sorted(SAMPLE_COUNTS.items()))
def test_each_sample_folder_imports_to_its_unique_count(folder, expected):
    first = run_import(SAMPLES / folder / ".claude-patterns")

    assert TaskRecord.objects.count() == expected
    assert "Created" in first.out
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.failed, run.dry_run) == ("ok", expected, 0, False)


@pytest.mark.parametrize("folder", sorted(SAMPLE_COUNTS))
def test_importing_a_sample_again_creates_nothing_and_says_so(folder):
    run_import(SAMPLES / folder)
    stored = {r.record_id: (len(r.raw), r.quality_score) for r in TaskRecord.objects.all()}

    again = run_import(SAMPLES / folder)

    assert TaskRecord.objects.count() == SAMPLE_COUNTS[folder]
    assert {r.record_id: (len(r.raw), r.quality_score) for r in TaskRecord.objects.all()} == stored
    assert "Nothing new" in again.out
    second = ImportRun.objects.order_by("-pk").first()
    assert (second.created, second.merged, second.failed) == (0, 0, 0)
    assert second.skipped > 0


def test_all_three_samples_into_one_database_give_80_in_either_order():
    for folder in ("mixed-formats", "debugging-eval", "recorder-v3.7"):
        run_import(SAMPLES / folder)
    assert TaskRecord.objects.count() == 80

    TaskRecord.objects.all().delete()
    run_import(SAMPLES)  # the folder that holds all three

    assert TaskRecord.objects.count() == 80


def test_a_folder_of_projects_is_searched_for_patterns_directories(tmp_path):
    shutil.copytree(SAMPLES / "recorder-v3.7", tmp_path / "work" / "project-a")
    shutil.copytree(SAMPLES / "mixed-formats", tmp_path / "work" / "deeper" / "project-b")
    (tmp_path / "work" / "node_modules" / "x" / ".claude-patterns").mkdir(parents=True)
    write_json(
        tmp_path / "work" / "node_modules" / "x" / ".claude-patterns" / "quality_history.json",
        quality_history(assessment("never-read")),
    )

    run_import(tmp_path / "work")

    assert TaskRecord.objects.count() == 80
    assert not TaskRecord.objects.filter(record_id="never-read").exists()


def test_default_path_is_the_claude_patterns_folder_here(tmp_path, monkeypatch):
    shutil.copytree(SAMPLES / "recorder-v3.7" / ".claude-patterns", tmp_path / ".claude-patterns")
    monkeypatch.chdir(tmp_path)

    run_import()

    assert TaskRecord.objects.count() == 21
    assert ImportRun.objects.get().paths == [".claude-patterns"]


def test_without_a_path_and_without_claude_patterns_here_it_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_failing_import()

    assert "No ./.claude-patterns here" in result.error
    assert not ImportRun.objects.exists()


def test_dry_run_reports_what_a_real_run_does_and_stores_no_records():
    dry = run_import(SAMPLES / "debugging-eval", dry_run=True)

    assert TaskRecord.objects.count() == 0
    assert AIModel.objects.count() == Skill.objects.count() == Agent.objects.count() == 0
    assert "Dry run: nothing was written" in dry.out
    dry_run = ImportRun.objects.get()
    assert dry_run.dry_run is True

    real = run_import(SAMPLES / "debugging-eval")

    real_run = ImportRun.objects.exclude(pk=dry_run.pk).get()
    assert (dry_run.created, dry_run.merged, dry_run.skipped, dry_run.failed) == (
        real_run.created,
        real_run.merged,
        real_run.skipped,
        real_run.failed,
    )
    assert dry_run.files == real_run.files
    # The same table; the real run's last two lines are its summary and the dashboard address.
    assert real.out.splitlines()[-1].startswith("See them on the dashboard: /?from=")
    assert (
        dry.out.split("\n\n")[-1].splitlines()[:-1] == real.out.split("\n\n")[-1].splitlines()[:-2]
    )


def test_dry_run_after_an_import_finds_nothing_new():
    run_import(SAMPLES / "recorder-v3.7")
    before = list(TaskRecord.objects.values_list("record_id", "raw"))

    dry = run_import(SAMPLES / "recorder-v3.7", dry_run=True)

    assert list(TaskRecord.objects.values_list("record_id", "raw")) == before
    assert "would create 0 records, merge 0" in dry.out


def test_dry_run_with_failures_still_exits_non_zero_and_writes_nothing(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "quality_history.json", quality_history(assessment("a", timestamp="later")))

    result = run_failing_import(folder, dry_run=True)

    assert "Dry run found failures" in result.error
    assert TaskRecord.objects.count() == 0


def test_the_report_is_a_per_file_table_with_skipped_and_aggregate_files():
    result = run_import(SAMPLES / "debugging-eval")

    lines = result.out.splitlines()
    header = next(line for line in lines if line.startswith("File"))
    assert header.split()[-4:] == ["Created", "Merged", "Skipped", "Failed"]
    row = next(line for line in lines if line.startswith("debugging-eval/.claude-patterns/quality"))
    assert row.split()[-4:] == ["19", "0", "0", "0"]
    total = next(line for line in lines if line.startswith("Total"))
    assert total.split()[1:] == ["19", "40", "0", "0"]
    assert "learned patterns, not performance records" in result.out
    assert "model_performance.json" in result.out
    assert "recognised, not turned into records" in result.out


def test_each_run_is_an_import_run_with_per_file_counts():
    run_import(SAMPLES / "recorder-v3.7" / ".claude-patterns")

    run = ImportRun.objects.get()
    assert run.finished_at is not None
    by_file = {entry["file"]: entry for entry in run.files}
    quality = by_file[".claude-patterns/quality_history.json"]
    assert (quality["created"], quality["merged"], quality["status"]) == (19, 2, "imported")
    assert by_file[".claude-patterns/model_performance.json"]["status"] == "aggregate"
    assert (run.created, run.merged, run.skipped) == (21, 2, 0)
    assert run.errors == []


def test_import_runs_are_visible_in_the_admin(admin_client):
    run_import(SAMPLES / "recorder-v3.7")
    run = ImportRun.objects.get()

    changelist = admin_client.get("/admin/records/importrun/")
    detail = admin_client.get(f"/admin/records/importrun/{run.pk}/change/")

    assert changelist.status_code == detail.status_code == 200
    assert "quality_history.json" in detail.content.decode()


def test_plain_output_has_one_line_per_file_when_not_a_terminal():
    result = run_import(SAMPLES / "recorder-v3.7" / ".claude-patterns")

    assert "Reading [1/2] .claude-patterns/performance_records.json" in result.out
    assert "Reading [2/2] .claude-patterns/quality_history.json" in result.out
    assert "\r" not in result.out


class TerminalOutput(StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar():
    out = TerminalOutput()

    folder = SAMPLES / "mixed-formats" / ".claude-patterns"
    call_command("import_legacy", str(folder), stdout=out, stderr=StringIO())

    text = out.getvalue()
    assert "\r" in text
    assert "[1/1] .claude-patterns/performance_records.json" in text
    assert "%" in text
    assert "checking" in text
    assert "Reading [" not in text


def test_quiet_mode_prints_the_table_without_progress():
    result = run_import(SAMPLES / "recorder-v3.7", verbosity=0)

    assert "Reading" not in result.out
    assert "Total" in result.out


def test_skills_and_agents_are_stored_as_rows():
    run_import(SAMPLES / "mixed-formats")

    record = TaskRecord.objects.get(record_id="auto-1b1a0b46-3852-49e7-9082-c3b6d5b3c200")
    assert sorted(record.skills.values_list("name", flat=True)) == [
        "performance-integration",
        "testing",
    ]
    assert list(record.agents.values_list("name", flat=True)) == ["performance-integrator"]
    assert RecordSkill.objects.filter(skill__name="code-analysis").count() > 1


def test_an_unknown_time_zone_is_refused_before_anything_runs():
    with pytest.raises(CommandError, match="Unknown time zone 'Mars/Olympus'"):
        call_command("import_legacy", str(SAMPLES), assume_tz="Mars/Olympus", stdout=StringIO())
    assert not ImportRun.objects.exists()


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("import_legacy", str(SAMPLES), batch_size=0, stdout=StringIO())
