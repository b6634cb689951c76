"""Nesting depth: a record past ``MAX_JSON_DEPTH`` is refused while it is parsed, never built.

ijson's prefix-based ``parse``/``items`` used memory that grew with the square of the nesting (a
3 MB file nested 200,000 deep was killed at 22.6 GB); the reader now counts depth on the basic
events, so memory is bounded by the limit. The in-process tests check what is reported and that
the neighbours import; the subprocess test measures the peak memory of a real import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from records.models import ImportRun, TaskRecord
from records.recording.schema import MAX_JSON_DEPTH
from tests.records.legacy_helpers import (
    assessment,
    patterns_dir,
    quality_history,
    run_failing_import,
    run_import,
    write_json,
)
from tests.support import live

DEEP = 200_000
DEEP_IN_PROCESS = 5_000  # far past the limit, yet harmless should the old reader come back
MEMORY_LIMIT_MIB = 300
ADDRESS_SPACE_MIB = 4096  # the child's cap: a regression fails fast instead of swapping
MSG = f"nests lists and objects more than {MAX_JSON_DEPTH} levels deep"


def nested(levels: int) -> object:
    """Lists inside lists, ``levels`` deep (built without recursion)."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def deep_text(levels: int) -> str:
    """``levels`` of objects and lists as JSON text, too deep for json.dumps to write."""
    return '{"nesting_level": [' * (levels // 2) + "0" + "]}" * (levels // 2)


@pytest.mark.django_db
def test_a_record_past_the_limit_fails_alone_and_its_neighbours_import(tmp_path):
    folder = patterns_dir(tmp_path)
    # The record itself is level 1: "details" adds one, the lists the rest.
    at_limit = assessment("at-limit", details={"tree": nested(MAX_JSON_DEPTH - 2)})
    past_limit = assessment("too-deep", details={"tree": nested(MAX_JSON_DEPTH - 1)})
    write_json(
        folder / "quality_history.json",
        quality_history(assessment("good-1"), past_limit, at_limit, assessment("good-2")),
    )

    result = run_failing_import(folder)

    stored = set(TaskRecord.objects.values_list("record_id", flat=True))
    assert stored == {"good-1", "at-limit", "good-2"}
    line = (
        "error: .claude-patterns/quality_history.json, record 1 "
        f"(quality_assessments; assessment_id too-deep): {MSG}"
    )
    assert line in result.err
    run = ImportRun.objects.get()
    assert run.failed == 1
    assert {
        "file": ".claude-patterns/quality_history.json",
        "index": 1,
        "location": "quality_assessments",
        "record": "assessment_id too-deep",
        "reason": MSG,
        "level": "error",
    } in run.errors


@pytest.mark.django_db
def test_a_record_thousands_of_levels_deep_is_refused_without_being_built(tmp_path):
    folder = patterns_dir(tmp_path)
    text = json.dumps(quality_history(assessment("good-1"), assessment("good-2")))
    deep = '{"assessment_id": "deep", "details": ' + deep_text(DEEP_IN_PROCESS) + "}"
    text = text.replace('{"assessment_id": "good-2"', deep + ', {"assessment_id": "good-2"')
    (folder / "quality_history.json").write_text(text, encoding="utf-8")

    result = run_failing_import(folder)

    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}
    assert f"record 1 (quality_assessments; assessment_id deep): {MSG}" in result.err


@pytest.mark.django_db
def test_a_file_that_is_one_over_deep_value_fails_with_the_reason(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "quality_history.json", quality_history(assessment("good-1")))
    other = tmp_path / "deep.json"
    other.write_text('{"metadata": ' + deep_text(DEEP_IN_PROCESS) + "}", encoding="utf-8")

    result = run_failing_import(folder, other)

    assert set(TaskRecord.objects.values_list("record_id", flat=True)) == {"good-1"}
    assert f"error: deep.json: {MSG} outside its records" in result.err
    assert "1 file could not be imported (deep.json)" in result.error
    assert ImportRun.objects.get().status == "failed"


@pytest.mark.django_db
def test_a_deep_section_beside_the_records_fails_the_file_before_any_record(tmp_path):
    folder = patterns_dir(tmp_path)
    history = quality_history(assessment("in-the-file"))
    history["statistics"] = nested(MAX_JSON_DEPTH)  # the top object is level 1: one too many
    write_json(folder / "quality_history.json", history)

    result = run_failing_import(folder)

    assert not TaskRecord.objects.exists()
    assert f"{MSG} outside its records" in result.err


@pytest.mark.django_db
def test_deep_but_allowed_sections_and_many_lists_still_read(tmp_path):
    """Debugging files: one list per model, each read in the one pass; deep-ish metadata is fine."""
    folder = patterns_dir(tmp_path)
    metrics = {
        model: {
            "debugging_assessments": [
                assessment(f"{model}-{n}", task_type="debugging") for n in range(3)
            ]
        }
        for model in ("GLM-4.6", "claude-sonnet-4-5")
    }
    write_json(
        folder / "debugging_performance.json",
        {"detailed_metrics": metrics, "metadata": nested(MAX_JSON_DEPTH - 1)},
    )

    run_import(folder)

    models = dict(TaskRecord.objects.values_list("record_id", "model__name"))
    assert models == {
        **{f"GLM-4.6-{n}": "GLM 4.6" for n in range(3)},
        **{f"claude-sonnet-4-5-{n}": "Claude Sonnet 4.5" for n in range(3)},
    }


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_importing_a_file_nested_200000_deep_keeps_memory_bounded(backend, tmp_path):
    """A real ``manage.py import_legacy`` process; its peak RSS (ru_maxrss) stays far below what
    the old reader needed (22.6 GB and killed for this shape of file)."""
    server_url = os.environ.get("DATABASE_URL")
    if backend == "postgresql" and not live.is_postgres(server_url):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    folder = patterns_dir(tmp_path / "project")
    records = [
        '{"assessment_id": "before", "timestamp": "2025-10-21T11:28:00Z", "overall_score": 80}',
        '{"assessment_id": "deep-objects", "details": ' + deep_text(DEEP) + "}",
        '{"assessment_id": "deep-lists", "details": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"assessment_id": "after", "timestamp": "2025-10-21T11:29:00Z", "overall_score": 90}',
    ]
    path = folder / "quality_history.json"
    path.write_text('{"quality_assessments": [' + ", ".join(records) + "]}", encoding="utf-8")
    assert path.stat().st_size > 2_000_000

    if backend == "sqlite":
        env = live.sqlite_env(tmp_path / "db")
        peak, output = _import_in_child(env, folder)
    else:
        with live.postgres_database(server_url, suffix="depth") as env:
            peak, output = _import_in_child(env, folder)
            stored = live.stored_records(env)
    if backend == "sqlite":
        stored = live.stored_records(env)

    print(f"peak RSS of import_legacy on a {DEEP:,}-deep file ({backend}): {peak:.1f} MiB")
    assert peak < MEMORY_LIMIT_MIB
    assert set(stored) == {"before", "after"}
    assert f"record 1 (quality_assessments; assessment_id deep-objects): {MSG}" in output
    assert f"record 2 (quality_assessments; assessment_id deep-lists): {MSG}" in output


def _import_in_child(env: dict[str, str], folder: Path) -> tuple[float, str]:
    """Migrate, then import ``folder`` in a fresh process: (its peak RSS in MiB, its output)."""
    live.manage(env, "migrate", "--no-input")
    manage = [sys.executable, str(live.ROOT / "manage.py"), "import_legacy", str(folder)]
    done = subprocess.run(
        [sys.executable, str(live.SUPPORT / "peak_rss.py"), "300", str(ADDRESS_SPACE_MIB), *manage],
        capture_output=True,
        cwd=live.ROOT,
        env=env,
        timeout=330,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["returncode"] == 1, result["output"]  # two records failed: the command says so
    return result["peak_rss_kib"] / 1024, result["output"]


@pytest.mark.django_db
def test_an_export_line_nested_past_the_decoder_fails_alone(tmp_path):
    from records.stats.exports import FIELDS

    header = json.dumps({"perfsite_export": 1, "fields": FIELDS})
    path = tmp_path / "export.jsonl"
    path.write_text(f"{header}\n{'[' * DEEP_IN_PROCESS}{']' * DEEP_IN_PROCESS}\n", encoding="utf-8")

    result = run_failing_import(path)

    assert f"error: export.jsonl, line 2: {MSG}" in result.err
    assert "Traceback" not in result.err and "RecursionError" not in result.error
