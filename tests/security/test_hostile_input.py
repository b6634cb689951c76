"""Hostile input through every public interface: a clear error or stored and shown safely, and
nothing else in the database is touched."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from records.models import TaskRecord
from records.recorder import record_task_performance
from records.recording.schema import MAX_JSON_DEPTH, MAX_LABEL, MAX_TEXT, MSG_DEPTH
from records.recording.tokens import token_create
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

TASK = {"task_type": "coding", "description": "Add a feature", "duration": 300, "success": True}
DEPTH = 10_000
SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
SQL = "' OR 1=1 --"


def nested(depth: int = DEPTH) -> str:
    return '{"description": "deep", "issues": [' + "[" * depth + "]" * depth + "]}"


@pytest.fixture
def bystanders():
    """Records that must come through every hostile request unchanged."""
    return [
        TaskRecordFactory(record_id=f"keep-{i}", description=f"keep me {i}", quality_score=80 + i)
        for i in range(3)
    ]


@pytest.fixture(autouse=True)
def _nothing_else_is_affected(request):
    """After each test: the bystanders (if any) are stored exactly as before."""
    if "bystanders" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("bystanders")
    before = list(TaskRecord.objects.filter(record_id__startswith="keep-").values())
    yield
    after = list(TaskRecord.objects.filter(record_id__startswith="keep-").values())
    assert after == before


@pytest.fixture
def post(client):
    _, key = token_create(name="hostile")

    def send(body: bytes | str, **headers: str):
        return client.post(
            "/api/records",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}", **headers},
        )

    return send


def record_task(tmp_path: Path, text: bytes | str) -> str:
    path = tmp_path / "task.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CommandError) as info:
        call_command("record_task", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return str(info.value)


# --- Sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "size"),
    [("description", MAX_TEXT + 1), ("task_type", MAX_LABEL + 1), ("model_used", MAX_LABEL + 1)],
)
def test_a_string_over_its_limit_is_a_400_naming_the_field(post, bystanders, field, size):
    response = post(json.dumps({**TASK, field: "x" * size}))

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert TaskRecord.objects.count() == 3


def test_a_body_over_one_mebibyte_is_a_413(post, bystanders):
    response = post(json.dumps({**TASK, "notes": "x" * (1024 * 1024)}))

    assert response.status_code == 413
    assert list(response.json()["errors"]) == ["body"]
    assert TaskRecord.objects.count() == 3


def test_a_huge_description_is_refused_by_the_recorder():
    with pytest.raises(ValidationError) as info:
        record_task_performance({**TASK, "description": "x" * (MAX_TEXT + 1)})

    assert "description" in info.value.error_dict
    assert TaskRecord.objects.count() == 0


# --- Deep nesting ------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_through_the_api(post, bystanders):
    response = post(nested())

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["body"]
    assert TaskRecord.objects.count() == 3


def test_deeply_nested_json_is_a_clear_error_from_record_task(tmp_path, bystanders):
    message = record_task(tmp_path, nested())

    assert "nested too deeply" in message
    assert TaskRecord.objects.count() == 3


def test_deeply_nested_data_is_a_validation_error_from_the_recorder(bystanders):
    deep: list = []
    for _ in range(DEPTH):
        deep = [deep]

    with pytest.raises(ValidationError) as info:
        record_task_performance({**TASK, "extra": deep})
    assert info.value.message_dict == {"task_data": [MSG_DEPTH]}
    assert TaskRecord.objects.count() == 3


def test_json_nested_past_the_limit_but_parseable_is_a_400_naming_task_data(post, bystanders):
    depth = MAX_JSON_DEPTH + 5
    response = post('{"task_type": "coding", "extra": ' + "[" * depth + "]" * depth + "}")

    assert response.status_code == 400
    assert response.json() == {"errors": {"task_data": [MSG_DEPTH]}}
    assert TaskRecord.objects.count() == 3


def test_deeply_nested_json_in_a_legacy_file_fails_that_file_only(tmp_path, bystanders):
    folder = tmp_path / ".claude-patterns"
    folder.mkdir()
    # assessments.json is read first: a deep record must not stop the files after it.
    (folder / "assessments.json").write_text(
        '{"assessments": [{"assessment_id": "deep-1", "timestamp": '
        '"2025-01-01T00:00:00Z", "task_type": "coding", "overall_score": 80, "details": '
        + "[" * DEPTH
        + "]" * DEPTH
        + "}]}"
    )
    (folder / "performance_records.json").write_text(
        json.dumps(
            {
                "records": [
                    {
                        "assessment_id": "fine-1",
                        "timestamp": "2025-01-02T00:00:00Z",
                        "task_type": "coding",
                        "overall_score": 90,
                    }
                ]
            }
        )
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:  # a failed record makes the exit status non-zero
        call_command("import_legacy", str(folder), stdout=out, stderr=err)

    assert "Import stopped" not in str(info.value)
    assert TaskRecord.objects.filter(record_id="fine-1").exists()
    assert not TaskRecord.objects.filter(record_id="deep-1").exists()
    report = out.getvalue() + err.getvalue()
    assert f"more than {MAX_JSON_DEPTH} levels deep" in report
    assert "assessments.json" in report


# --- Numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_a_400(post, bystanders, literal):
    response = post(f'{{"task_type": "coding", "duration": {literal}}}')

    assert response.status_code == 400
    assert "not a number JSON allows" in response.json()["errors"]["body"][0]
    assert TaskRecord.objects.count() == 3


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_nan_and_infinity_literals_are_refused_by_record_task(tmp_path, literal):
    message = record_task(tmp_path, f'{{"task_type": "coding", "quality_score": {literal}}}')

    assert "not a number JSON allows" in message
    assert TaskRecord.objects.count() == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_and_infinity_are_refused_by_the_recorder(value):
    with pytest.raises(ValidationError) as info:
        record_task_performance({**TASK, "duration": value})

    assert "duration" in info.value.error_dict


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration", -1),
        ("duration", 1e308),
        ("duration", 2**70),
        ("files_modified", -1),
        ("files_modified", 2**70),
        ("lines_changed", 1e308),
    ],
)
def test_negative_and_absurd_numbers_are_a_400_naming_the_field(post, bystanders, field, value):
    response = post(json.dumps({**TASK, field: value}))

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert TaskRecord.objects.count() == 3


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [("quality_score", 1e308, 100), ("quality_score", -1e308, 0), ("code_quality", 2**70, None)],
)
def test_absurd_explicit_scores_are_clamped_to_0_100_as_the_contract_says(
    post, bystanders, field, value, stored
):
    response = post(json.dumps({**TASK, field: value}))

    assert response.status_code == 201, response.content
    record = TaskRecord.objects.get(record_id=response.json()["record_id"])
    assert 0 <= record.quality_score <= 100
    if stored is not None:
        assert record.quality_score == stored
    # The input itself is kept (PostgreSQL's jsonb gives 1e308 back as the integer 10**308).
    assert float(record.raw[0]["payload"][field]) == float(value)


def test_a_number_with_thousands_of_digits_is_a_400_not_a_crash(post, bystanders):
    response = post('{"task_type": "coding", "duration": ' + "9" * 5000 + "}")

    assert response.status_code == 400
    assert TaskRecord.objects.count() == 3


# --- Timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "99999-01-01"]
)
def test_timestamps_far_in_the_past_or_future_are_a_400_naming_recorded_at(post, bystanders, when):
    response = post(json.dumps({**TASK, "recorded_at": when}))

    assert response.status_code == 400
    assert "recorded_at" in response.json()["errors"]
    assert TaskRecord.objects.count() == 3


def test_a_year_one_timestamp_is_refused_by_the_recorder():
    with pytest.raises(ValidationError) as info:
        record_task_performance({**TASK, "recorded_at": "0001-01-01T00:00:00Z"})

    assert "recorded_at" in info.value.error_dict


def test_legacy_records_with_absurd_timestamps_are_reported_and_the_rest_imports(tmp_path):
    path = tmp_path / "quality_history.json"
    path.write_text(
        json.dumps(
            {
                "quality_assessments": [
                    {"assessment_id": "y1", "timestamp": "0001-01-01T00:00:00Z", "task_type": "x"},
                    {"assessment_id": "y9", "timestamp": "9999-12-31T23:59:59Z", "task_type": "x"},
                    {"assessment_id": "ep", "timestamp": 1e308, "task_type": "x"},
                    {"assessment_id": "ok", "timestamp": "2025-03-01T10:00:00Z", "task_type": "x"},
                ]
            }
        )
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_legacy", str(path), stdout=out, stderr=err)

    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == ["ok"]
    report = out.getvalue() + err.getvalue()
    assert "timestamp" in report.lower()


# --- Bytes and control characters ---------------------------------------------------------------


def test_invalid_utf8_is_a_400(post, bystanders):
    response = post(b'{"task_type": "coding", "description": "\xff\xfe bad"}')

    assert response.status_code == 400
    assert response.json()["errors"]["body"] == ["Must be UTF-8 encoded JSON."]
    assert TaskRecord.objects.count() == 3


def test_invalid_utf8_is_a_clear_error_from_record_task(tmp_path):
    message = record_task(tmp_path, b'{"task_type": "coding", "description": "\xff"}')

    assert "UTF-8" in message


@pytest.mark.parametrize("text", ["nul \u0000 byte", "lone surrogate \ud800"])
def test_text_the_database_cannot_hold_is_a_400(post, bystanders, text):
    response = post(json.dumps({**TASK, "description": text}))

    assert response.status_code == 400, response.content
    assert TaskRecord.objects.count() == 3


def test_other_control_characters_are_stored_verbatim_and_shown_safely(post, client):
    text = "bell \x07 escape \x1b[31m tab \t newline \n del \x7f"
    response = post(json.dumps({**TASK, "description": text, "record_id": "ctl-1"}))

    assert response.status_code == 201
    assert TaskRecord.objects.get(record_id="ctl-1").description == text
    assert client.get("/records/ctl-1/").status_code == 200
    recent = client.get("/api/recent-performance-records", {"days": "30"}).json()
    assert recent["records"][0]["description"] == text


# --- Markup in every text field ------------------------------------------------------------------

MARKUP_TASK = {
    "record_id": "markup-1",
    "task_type": f"coding {SCRIPT}",
    "description": f"Fix {SCRIPT} {IMG}",
    "model_used": f"Model {IMG}",
    "skills_used": [SCRIPT],
    "agents_used": [IMG],
    "issues_found": [SCRIPT],
    "recommendations": [IMG],
    "duration": 60,
    "success": True,
    "notes": SCRIPT,
}


@pytest.fixture
def markup_record(post):
    response = post(json.dumps(MARKUP_TASK))
    assert response.status_code == 201, response.content
    return TaskRecord.objects.get(record_id="markup-1")


def test_markup_is_stored_verbatim(markup_record):
    assert markup_record.description == MARKUP_TASK["description"]
    assert markup_record.task_label == MARKUP_TASK["task_type"]
    assert markup_record.model.name == MARKUP_TASK["model_used"]
    assert markup_record.issues == [SCRIPT]
    assert markup_record.raw[0]["payload"] == MARKUP_TASK


@pytest.mark.parametrize(
    "url",
    [
        "/?period=all",
        "/fragments/recent-records/?period=all",
        "/fragments/models/?period=all",
        "/fragments/task-types/?period=all",
        "/fragments/kpis/?period=all",
        "/fragments/trend/?period=all",
        "/records/markup-1/",
    ],
)
def test_markup_is_escaped_on_every_page(client, markup_record, url):
    body = client.get(url).content.decode()

    assert "<script>alert" not in body
    assert "<img src=x" not in body


def test_the_detail_page_shows_the_markup_as_text(client, markup_record):
    body = client.get("/records/markup-1/").content.decode()

    assert "Fix &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "Model &lt;img src=x onerror=alert(1)&gt;" in body


@pytest.mark.parametrize(
    "url",
    [
        "/api/recent-performance-records?days=30",
        "/api/recent-performance-records",  # the old tool's shape: the model and raw task type
        "/api/summary",
    ],
)
def test_json_apis_return_markup_as_json_strings(client, markup_record, url):
    response = client.get(url)

    assert response["Content-Type"] == "application/json"
    assert "<script>" not in response.content.decode()  # escaped as \u003C inside the string
    data = response.json()
    if "records" in data and "description" in data["records"][0]:
        assert data["records"][0]["description"] == MARKUP_TASK["description"]
    elif "records" in data:
        assert data["records"][0]["model"] == MARKUP_TASK["model_used"]
        assert data["records"][0]["task_type"] == MARKUP_TASK["task_type"]
    else:
        assert MARKUP_TASK["model_used"] in data["models_used"]


# --- SQL-looking strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("model", "No model is called"),
        ("task_type", "Unknown task type"),
        ("source", "Unknown source"),
        ("period", "Unknown period"),
    ],
)
@pytest.mark.parametrize("url", ["/", "/fragments/recent-records/"])
def test_sql_in_a_filter_is_ignored_with_a_message(client, bystanders, param, message, url):
    response = client.get(url, {param: SQL})

    assert response.status_code == 200
    body = response.content.decode()
    if url == "/":
        assert message in body
        assert "&#x27; OR 1=1 --" in body
    for record in bystanders:
        assert record.record_id in body
    assert TaskRecord.objects.count() == 3


@pytest.mark.parametrize("value", [SQL, "1; DROP TABLE records_taskrecord", "1 OR 1=1"])
def test_sql_in_days_is_a_400(client, bystanders, value):
    response = client.get("/api/summary", {"days": value})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["days"]
    assert TaskRecord.objects.count() == 3


@pytest.mark.parametrize("url", ["/records/' OR 1=1 --/", "/records/%27%3B%20DROP%20TABLE%20x/"])
def test_sql_in_a_record_url_is_a_404(client, bystanders, url):
    assert client.get(url).status_code == 404
    assert TaskRecord.objects.count() == 3


@pytest.mark.parametrize("query", [SQL, "%' OR '1'='1", "keep-0' --"])
def test_sql_in_admin_search_finds_nothing_and_changes_nothing(admin_client, bystanders, query):
    response = admin_client.get("/admin/records/taskrecord/", {"q": query})

    assert response.status_code == 200
    assert "0 results" in response.content.decode()
    assert TaskRecord.objects.count() == 3


def test_sql_in_a_stored_field_is_just_text(post, client, bystanders):
    response = post(json.dumps({**TASK, "record_id": "sql-1", "description": SQL}))

    assert response.status_code == 201
    assert TaskRecord.objects.get(record_id="sql-1").description == SQL
    assert TaskRecord.objects.count() == 4
