"""Bodies no exporter should send: a clear 4xx naming the problem, never a 5xx, nothing stored."""

from __future__ import annotations

import gzip
import json

import pytest
from google.rpc import status_pb2

from records.models import ImportRun, PendingSpan, TaskRecord
from records.recording.otlp.decoding import MAX_ATTRIBUTES, MAX_BODY_BYTES
from tests.telemetry.bodies import Turn, as_json, as_protobuf, kvs, logs_request

pytestmark = pytest.mark.django_db

PROTOBUF, JSON = "application/x-protobuf", "application/json"


def good_body() -> bytes:
    turn = Turn("p-hostile")
    return as_protobuf(logs_request([turn.prompt(0, text="Hello there"), turn.api_request(1)]))


def status(response) -> status_pb2.Status:
    message = status_pb2.Status()
    if response["Content-Type"] == PROTOBUF:
        message.ParseFromString(response.content)
    else:
        from google.protobuf import json_format

        json_format.Parse(response.content, message)
    return message


def assert_nothing_stored():
    assert TaskRecord.objects.count() == 0
    assert ImportRun.objects.count() == 0 and PendingSpan.objects.count() == 0


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_truncated_protobuf_is_400(post, signal):
    body = good_body()[:-7]
    response = post(signal, body)
    assert response.status_code == 400
    assert "not a valid OTLP protobuf message" in status(response).message
    assert_nothing_stored()


def test_random_bytes_and_broken_json_are_400(post):
    assert post("logs", b"\xff\x00garbage" * 50).status_code == 400
    response = post("logs", b'{"resourceLogs": [', content_type=JSON)
    assert response.status_code == 400
    assert "not valid OTLP/JSON" in status(response).message
    assert post("logs", b"[1, 2]", content_type=JSON).status_code == 400
    assert post("logs", b'{"resourceLogs": "no"}', content_type=JSON).status_code == 400
    assert_nothing_stored()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "", "multipart/form-data"]
)
def test_wrong_content_type_is_415(post, content_type):
    response = post("logs", good_body(), content_type=content_type)
    assert response.status_code == 415
    assert "application/x-protobuf or application/json" in status(response).message
    assert_nothing_stored()


def test_unknown_content_encoding_is_415(post):
    response = post("logs", good_body(), HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415
    assert_nothing_stored()


def test_a_50_mb_body_is_413_from_its_content_length(post):
    response = post("logs", b"\x00" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in status(response).message
    assert_nothing_stored()


def test_a_gzip_bomb_is_413_and_broken_gzip_400(post):
    bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024))
    assert len(bomb) < MAX_BODY_BYTES
    response = post("logs", bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    response = post("logs", gzip.compress(good_body())[:-10], HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400 and "gzip" in status(response).message
    assert post("logs", good_body(), HTTP_CONTENT_ENCODING="gzip").status_code == 400
    assert_nothing_stored()


def test_100_000_attributes_are_400(post):
    turn = Turn("p-many")
    event = turn.prompt(0, text="Hello")
    request = logs_request([event])
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    record.attributes.extend(kvs({f"k{i}": i for i in range(100_000)}))
    body = request.SerializeToString()
    assert len(body) < MAX_BODY_BYTES
    response = post("logs", body)
    assert response.status_code == 400
    assert f"more than {MAX_ATTRIBUTES} attributes" in status(response).message
    assert_nothing_stored()


def test_invalid_utf8_in_an_attribute_value_is_400(post):
    turn = Turn("p-utf8")
    request = logs_request([turn.prompt(0, text="MARKER-TEXT"), turn.api_request(1)])
    body = request.SerializeToString().replace(b"MARKER-TEXT", b"MARKER\xff\xfeXT")
    response = post("logs", body)
    assert response.status_code == 400
    json_body = as_json(request).replace(b"MARKER-TEXT", b"MARKER\xff\xfeXT")
    assert post("logs", json_body, content_type=JSON).status_code == 400
    assert_nothing_stored()


def test_a_lone_surrogate_in_json_is_refused_not_stored(post):
    turn = Turn("p-surrogate")
    document = json.loads(
        as_json(logs_request([turn.prompt(0, text="MARKER"), turn.api_request(1)]))
    )
    text = json.dumps(document).replace("MARKER", "\\ud800")
    response = post("logs", text.encode(), content_type=JSON)
    assert response.status_code == 400
    assert "surrogate" in status(response).message
    assert_nothing_stored()


def test_bad_hex_ids_in_json_traces_are_400(post):
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}]}]}]}
    response = post("traces", json.dumps(body).encode(), content_type=JSON)
    assert response.status_code == 400 and "traceId is not hex" in status(response).message


def test_no_wrong_or_revoked_token_is_401(post, token):
    from records.models import ApiToken

    assert post("logs", good_body(), auth="").status_code == 401
    response = post("logs", good_body(), auth="Bearer nope")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert post("logs", good_body()).status_code == 401
    assert_nothing_stored()


def test_get_is_405(client):
    response = client.get("/v1/logs", content_type=PROTOBUF)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_more_items_than_a_request_may_carry_is_413(post):
    from records.recording.otlp.decoding import MAX_ITEMS

    turn = Turn("p-items")
    events = [turn.tool_result(i / 1000, "Read") for i in range(MAX_ITEMS + 1)]
    response = post("logs", as_protobuf(logs_request(events)))
    assert response.status_code == 413
    assert f"at most {MAX_ITEMS} log records" in status(response).message
    assert_nothing_stored()


def test_a_batch_past_the_write_budget_is_503_and_its_retry_completes_it(post, settings):
    turns = [Turn(f"p-budget-{n}") for n in range(3)]
    events = [e for turn in turns for e in (turn.prompt(0, text="Hi"), turn.api_request(1))]
    body = as_protobuf(logs_request(events))
    settings.PERFSITE_WRITE_TIMEOUT = 0  # spent before the first task
    response = post("logs", body)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert "write budget" in status(response).message
    assert TaskRecord.objects.count() == 0
    settings.PERFSITE_WRITE_TIMEOUT = 30
    assert post("logs", body).status_code == 200
    assert TaskRecord.objects.count() == 3
    assert all(r.input_tokens == 100 and len(r.raw) == 1 for r in TaskRecord.objects.all())
