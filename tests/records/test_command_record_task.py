"""record_task: one task or a list from a file or stdin; ids out; bad input is one line, exit 1."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from records.models import TaskRecord

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TASK = {
    "task_type": "refactoring",
    "description": "Improve authentication module",
    "duration": 180,
    "success": True,
    "skills_used": ["code-analysis"],
    "model_used": "claude-sonnet-4-5",
}


def run(*args, stdin: bytes | None = None, monkeypatch=None) -> list[str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    out, err = io.StringIO(), io.StringIO()
    call_command("record_task", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines()


def write(tmp_path: Path, data, name: str = "task.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_one_task_from_a_file_prints_its_id(tmp_path):
    [record_id] = run(write(tmp_path, TASK))
    record = TaskRecord.objects.get(record_id=record_id)
    assert record.source == "cli"
    assert record.task_type == "refactoring"
    assert record.model.name == "Claude Sonnet 4.5"
    assert list(record.skills.values_list("name", flat=True)) == ["code-analysis"]
    assert record.raw == [{"source": "cli", "payload": TASK}]


@pytest.mark.parametrize("args", [("-",), ()])
def test_one_task_from_stdin(args, monkeypatch):
    [record_id] = run(*args, stdin=json.dumps(TASK).encode(), monkeypatch=monkeypatch)
    assert TaskRecord.objects.get(record_id=record_id).description == TASK["description"]


def test_a_list_prints_one_id_per_line_in_order(tmp_path):
    tasks = [dict(TASK, description=f"task {n}") for n in range(3)]
    ids = run(write(tmp_path, tasks))
    assert len(ids) == 3
    stored = dict(TaskRecord.objects.values_list("record_id", "description"))
    assert [stored[i] for i in ids] == ["task 0", "task 1", "task 2"]


def test_a_list_with_bad_tasks_names_each_index_and_field_and_stores_nothing(tmp_path):
    tasks = [TASK, dict(TASK, duration=-5), TASK, dict(TASK, success="yes", files_modified=1.5)]
    with pytest.raises(CommandError) as excinfo:
        run(write(tmp_path, tasks))
    message = str(excinfo.value)
    assert "\n" not in message
    assert "[1] duration:" in message
    assert "[3] success:" in message and "files_modified:" in message
    assert "[0]" not in message and "[2]" not in message
    assert "nothing stored" in message
    assert not TaskRecord.objects.exists()


def test_a_list_item_that_is_not_an_object_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"\[1\] task_data: Must be a JSON object"):
        run(write(tmp_path, [TASK, "refactoring"]))
    assert not TaskRecord.objects.exists()


def test_an_empty_list_records_nothing(tmp_path):
    assert run(write(tmp_path, [])) == []
    assert not TaskRecord.objects.exists()


def test_an_invalid_task_names_the_field(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        run(write(tmp_path, dict(TASK, complexity="huge")))
    assert str(excinfo.value).startswith("Invalid task, nothing stored: complexity: Must be one of")
    assert not TaskRecord.objects.exists()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"task_type": "coding",', "Malformed JSON"),
        ('{"task_type": "coding", "duration": NaN}', "NaN is not a number JSON allows"),
        ("", "Malformed JSON: Expecting value at line 1 column 1"),
        ("42", "Must be a JSON object (one task) or a list of objects"),
    ],
)
def test_malformed_input_is_a_one_line_reason(tmp_path, text, reason):
    with pytest.raises(CommandError) as excinfo:
        run(write(tmp_path, text))
    assert reason in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    assert not TaskRecord.objects.exists()


def test_bytes_that_are_not_utf8_are_refused(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"task_type": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(CommandError, match="UTF-8"):
        run(str(path))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.json"):
        run(str(tmp_path / "nope.json"))


def test_model_option_overrides_the_json(tmp_path):
    [record_id] = run(write(tmp_path, TASK), "--model", "glm-4.6")
    assert TaskRecord.objects.get(record_id=record_id).model.name == "GLM 4.6"


def test_running_again_with_the_same_record_id_stores_it_once(tmp_path):
    path = write(tmp_path, dict(TASK, record_id="ci-build-77"))
    assert run(path) == ["ci-build-77"]
    assert run(path) == ["ci-build-77"]
    assert TaskRecord.objects.count() == 1


def test_the_process_exits_non_zero_with_the_reason_on_stderr(tmp_path):
    env = dict(os.environ, PERFSITE_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "record_task", "-"],
        input=b"{not json",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode().strip().splitlines()[-1] == (
        "CommandError: standard input: Malformed JSON: "
        "Expecting property name enclosed in double quotes at line 1 column 2."
    )


def test_text_that_no_database_can_store_is_refused_before_anything_is_written(tmp_path):
    tasks = [TASK, dict(TASK, note="a\u0000b"), dict(TASK, extra={"k": "\ud800"})]
    with pytest.raises(CommandError) as excinfo:
        run(write(tmp_path, tasks))
    assert "[1] task_data: Must not contain NUL" in str(excinfo.value)
    assert "[2] task_data: Must be valid Unicode" in str(excinfo.value)
    assert not TaskRecord.objects.exists()


def test_a_backslash_u0000_typed_as_text_is_not_a_nul(tmp_path):
    [record_id] = run(write(tmp_path, dict(TASK, description="escape: \\u0000")))
    assert TaskRecord.objects.get(record_id=record_id).description == "escape: \\u0000"
