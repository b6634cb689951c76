"""Claude Code's log events over OTLP/HTTP: one task per prompt, merged with the plugin hook's."""

from __future__ import annotations

import json

import psycopg
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from records.models import ImportRun, TaskRecord
from records.recording.tokens import token_create
from tests.records.test_rollups import rebuild, snapshot, without_ids
from tests.telemetry.bodies import SESSION, Turn, as_json, as_protobuf, logs_request, startup_event

pytestmark = pytest.mark.django_db

PROTOBUF, JSON = "application/x-protobuf", "application/json"


def answer(response) -> ExportLogsServiceResponse:
    message = ExportLogsServiceResponse()
    if response["Content-Type"] == PROTOBUF:
        message.ParseFromString(response.content)
    else:
        json_format.Parse(response.content, message)
    return message


def a_turn(prompt_id="p-1", text=None):
    turn = Turn(prompt_id)
    return turn, [
        turn.prompt(0, text=text),
        turn.api_request(1.0),
        turn.tool_result(2.0, "Bash", success=False, error="Exit code 3"),
        turn.api_request(3.5),
    ]


def assert_rollups_exact():
    incremental = snapshot()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


@pytest.mark.parametrize(
    ("encode", "content_type", "gzipped"),
    [
        (as_protobuf, PROTOBUF, False),
        (as_json, JSON, False),
        (as_protobuf, PROTOBUF, True),
        (as_json, JSON, True),
    ],
)
def test_a_turn_becomes_one_task_with_the_cli_s_tokens_and_cost(
    post, encode, content_type, gzipped
):
    _, events = a_turn(text="Fix the failing login test")
    response = post(
        "logs", encode(logs_request(events)), content_type=content_type, gzipped=gzipped
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == content_type
    assert not answer(response).HasField("partial_success")
    record = TaskRecord.objects.get()
    assert record.record_id == f"cc-{SESSION}-p-1"
    assert record.source == "otlp" and record.session_id == SESSION
    assert record.description == "Fix the failing login test"
    assert record.task_type == "debugging"
    assert record.model.name == "Claude Sonnet 4.5"
    assert (record.input_tokens, record.output_tokens) == (200, 40)
    assert (record.cache_read_tokens, record.cache_creation_tokens) == (100, 20)
    assert record.cost_usd == pytest.approx(0.001305) and record.cost_source == "given"
    assert record.duration_seconds == pytest.approx(3.5)
    assert record.issues == ["Bash: Exit code 3"] and record.success is True
    assert record.auto_generated is True


def test_without_exported_prompts_only_the_length_is_known(post):
    _, events = a_turn()
    assert post("logs", as_protobuf(logs_request(events))).status_code == 200
    record = TaskRecord.objects.get()
    assert record.description == "Claude Code turn (prompt of 17 characters, not exported)"
    assert record.task_type == "general"
    assert "<REDACTED>" not in json.dumps(record.raw)


def test_later_batches_update_the_same_record_and_rollups_stay_exact(post):
    turn = Turn("p-2")
    first = [turn.prompt(0, text="Write the docs for the export"), turn.api_request(1)]
    second = [turn.api_error(2), turn.api_request(4), turn.tool_result(5, "Edit")]
    third = [turn.api_error(9, status="500", error="Internal")]
    for batch in (first, second, third):
        assert post("logs", as_protobuf(logs_request(batch))).status_code == 200
        assert_rollups_exact()
    record = TaskRecord.objects.get()
    assert record.input_tokens == 200 and record.cost_usd == pytest.approx(0.001305)
    assert record.duration_seconds == pytest.approx(9)
    assert record.issues == ["API Error: 529 Overloaded", "API Error: 500 Internal"]
    assert record.success is False  # the turn ended on an API error
    assert len(record.raw) == 3


def test_an_exporter_retry_of_the_same_batch_counts_nothing_twice(post):
    _, events = a_turn()
    body = as_protobuf(logs_request(events))
    assert post("logs", body).status_code == 200
    assert post("logs", body).status_code == 200
    record = TaskRecord.objects.get()
    assert record.input_tokens == 200 and len(record.raw) == 1


def test_events_of_no_turn_are_counted_and_logged_not_dropped_silently(post):
    _, events = a_turn()
    body = as_protobuf(logs_request(events, extra=[startup_event(), startup_event()]))
    response = post("logs", body)
    assert response.status_code == 200
    partial = answer(response).partial_success
    assert partial.rejected_log_records == 0
    assert "2 logs items belong to no task: plugin_loaded (2)" in partial.error_message
    run = ImportRun.objects.get()
    assert run.skipped == 2 and run.created == 1 and run.paths[0] == "otlp:/v1/logs"
    assert run.files == [{"name": "plugin_loaded", "count": 2, "note": "belongs to no task"}]


def test_a_turn_the_schema_refuses_is_rejected_and_the_others_stored(post):
    _, good = a_turn("p-ok")
    bad_turn = Turn("p-bad")
    bad = [bad_turn.prompt(0, text="x"), bad_turn.api_request(1, cost=10**9)]
    response = post("logs", as_protobuf(logs_request(good + bad)))
    assert response.status_code == 200
    partial = answer(response).partial_success
    assert partial.rejected_log_records == 2
    assert f"cc-{SESSION}-p-bad" in partial.error_message and "cost_usd" in partial.error_message
    assert list(TaskRecord.objects.values_list("record_id", flat=True)) == [f"cc-{SESSION}-p-ok"]
    assert ImportRun.objects.get().failed == 2


def hook_task(prompt_id: str) -> dict:
    """What the plugin's hook posts for the same turn (perfsite_recorder.tasks.build_task)."""
    return {
        "record_id": f"cc-{SESSION}-{prompt_id}",
        "description": "Add the export button to the report page",
        "task_type": "coding",
        "model_used": "claude-sonnet-4-5",
        "duration": 12.5,
        "files_modified": 2,
        "lines_changed": 31,
        "skills_used": ["release-notes"],
        "agents_delegated": ["general-purpose"],
        "issues_found": ["Bash: Exit code 3"],
        "session_id": SESSION,
        "prompt_id": prompt_id,
        "project": "widgets",
        "git_branch": "feature-x",
        "input_tokens": 200,
        "output_tokens": 40,
        "cache_read_tokens": 100,
        "cache_creation_tokens": 20,
    }


def post_hook(client, token, task):
    return client.post(
        "/api/records", task, content_type=JSON, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def assert_merged(record):
    assert record.description == "Add the export button to the report page"
    assert record.task_type == "coding"
    assert (record.files_modified, record.lines_changed) == (2, 31)
    assert list(record.skills.values_list("name", flat=True)) == ["release-notes"]
    assert list(record.agents.values_list("name", flat=True)) == ["general-purpose"]
    assert record.duration_seconds == 12.5 and record.project == "widgets"
    assert record.cost_usd == pytest.approx(0.001305)
    assert record.cost_source == "given"  # the telemetry's exact cost, not an estimate
    assert record.issues == ["Bash: Exit code 3"]


def test_hook_first_then_telemetry_is_one_record(client, post, token):
    assert post_hook(client, token, hook_task("p-3")).status_code == 201
    estimated = TaskRecord.objects.get()
    assert estimated.cost_source.startswith("genai-prices")
    _, events = a_turn("p-3")
    assert post("logs", as_protobuf(logs_request(events))).status_code == 200
    record = TaskRecord.objects.get()
    assert record.source == "api"
    assert_merged(record)
    assert_rollups_exact()


def test_telemetry_first_then_the_hook_is_one_record(client, post, token):
    _, events = a_turn("p-4")
    assert post("logs", as_protobuf(logs_request(events))).status_code == 200
    response = post_hook(client, token, hook_task("p-4"))
    assert response.status_code == 200 and response.json()["record_id"] == f"cc-{SESSION}-p-4"
    record = TaskRecord.objects.get()
    assert_merged(record)
    assert_rollups_exact()
    # The hook's retry (its spool sends again) changes nothing; later events still merge.
    assert post_hook(client, token, hook_task("p-4")).status_code == 200
    turn = Turn("p-4")
    assert post("logs", as_protobuf(logs_request([turn.api_request(20)]))).status_code == 200
    record = TaskRecord.objects.get()
    assert record.files_modified == 2 and record.input_tokens == 300
    assert record.cost_usd == pytest.approx(0.0019575)
    assert_rollups_exact()


def test_a_turn_stored_by_another_token_is_rejected_not_merged(client, post):
    _, other = token_create(name="someone-else")
    assert post_hook(client, other, hook_task("p-5")).status_code == 201
    _, events = a_turn("p-5")
    response = post("logs", as_protobuf(logs_request(events)))
    assert response.status_code == 200
    partial = answer(response).partial_success
    assert partial.rejected_log_records == len(events)
    assert "stored by another API token" in partial.error_message
    assert TaskRecord.objects.get().cost_source.startswith("genai-prices")


def test_metrics_are_accepted_and_counted(post):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "claude_code.lines_of_code.count"
    point = metric.sum.data_points.add()
    point.as_int = 12
    response = post("metrics", request.SerializeToString())
    assert response.status_code == 200
    assert TaskRecord.objects.count() == 0 and ImportRun.objects.count() == 0


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (psycopg.errors.DeadlockDetected("deadlock detected"), "BUSY"),
        (psycopg.errors.DiskFull("could not extend file: No space left on device"), "FULL"),
        (psycopg.OperationalError("server closed the connection"), "UNAVAILABLE"),
    ],
)
def test_a_write_that_fails_for_a_while_is_503_with_retry_after_and_the_retry_stores_once(
    post, monkeypatch, settings, error, kind
):
    """The write API's mapping of retryable database errors (records.recording.retry)."""
    from google.rpc import status_pb2

    from records.recording import retry
    from records.recording.api import MSG_DATABASE
    from tests.records.test_write_failures import fail_writes_with

    settings.PERFSITE_WRITE_TIMEOUT = 1.5
    _, first = a_turn("p-ok")
    _, second = a_turn("p-fails")
    body = as_protobuf(logs_request(first + second))
    fail_writes_with(monkeypatch, error)  # every insert fails, retried within the budget
    response = post("logs", body)
    assert response.status_code == 503
    assert response["Retry-After"] == str(retry.Transient[kind].value)
    status = status_pb2.Status()
    status.ParseFromString(response.content)
    assert status.message == MSG_DATABASE[retry.Transient[kind]]
    assert TaskRecord.objects.count() == 0
    monkeypatch.undo()
    assert post("logs", body).status_code == 200  # the exporter's retry
    assert TaskRecord.objects.count() == 2
    assert TaskRecord.objects.get(record_id__endswith="p-ok").input_tokens == 200
