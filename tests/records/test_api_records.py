"""POST /api/records through HTTP: every answer the endpoint gives, and what it stores."""

from __future__ import annotations

import io
import json

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from records.models import ApiToken, TaskRecord
from records.recording import api
from records.recording.ingest import (
    IDEMPOTENCY_PREFIX,
    MAX_BODY_BYTES,
    MSG_IDEMPOTENCY_KEY,
    MSG_NOT_TASKS,
)
from records.recording.schema import (
    MSG_COMPLEXITY,
    MSG_NEGATIVE,
    MSG_NO_TASK,
    MSG_NOT_BOOL,
    MSG_NOT_INTEGER,
    MSG_NOT_LIST,
    MSG_NOT_NUMBER,
    MSG_NOT_TEXT,
    MSG_NUL,
    MSG_RECORD_ID_CHARS,
    MSG_TIMESTAMP,
)
from records.recording.tokens import token_create, tokens_revoke

pytestmark = pytest.mark.django_db

URL = "/api/records"
TASK = {
    "task_type": "refactoring",
    "description": "Improve authentication module",
    "duration": 180,
    "success": True,
    "skills_used": ["code-analysis", "pattern-learning"],
    "agents_delegated": ["code-analyzer"],
    "files_modified": 3,
    "lines_changed": 150,
    "issues_found": ["Long function"],
    "model_used": "claude-sonnet-4-5",
}


@pytest.fixture
def token() -> str:
    return token_create(name="tests")[1]


def post(client: Client, body, token: str | None = None, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(URL, data=data, content_type="application/json", **headers)


def errors(response) -> dict[str, list[str]]:
    assert response["Content-Type"] == "application/json"
    return response.json()["errors"]


def test_the_url_is_the_one_design_fixes():
    assert reverse("records:api-records") == URL


# --- 201 ---------------------------------------------------------------------------------------


def test_a_valid_task_is_stored_with_source_api_and_answered_201(client, token):
    response = post(client, TASK, token)
    assert response.status_code == 201
    record_id = response.json()["record_id"]
    assert response.json() == {"record_id": record_id}
    record = TaskRecord.objects.get(record_id=record_id)
    assert record.source == "api"
    assert record.task_type == "refactoring"
    assert record.model.name == "Claude Sonnet 4.5"
    assert sorted(record.skills.values_list("name", flat=True)) == [
        "code-analysis",
        "pattern-learning",
    ]
    assert list(record.agents.values_list("name", flat=True)) == ["code-analyzer"]
    assert record.issues == ["Long function"] and record.issues_count == 1
    assert record.auto_generated is True
    assert record.raw == [{"source": "api", "payload": TASK}]


def test_the_optional_keys_are_honoured(client, token):
    body = dict(TASK, recorded_at="2025-10-21T11:28:00+02:00", auto_generated=False)
    response = post(client, body, token)
    record = TaskRecord.objects.get(record_id=response.json()["record_id"])
    assert record.recorded_at.isoformat() == "2025-10-21T09:28:00+00:00"
    assert record.auto_generated is False


def test_unknown_keys_are_kept_in_the_raw_payload(client, token):
    body = dict(TASK, session={"id": "abc", "turns": 12})
    response = post(client, body, token)
    record = TaskRecord.objects.get(record_id=response.json()["record_id"])
    assert record.raw[0]["payload"]["session"] == {"id": "abc", "turns": 12}


def test_a_body_of_exactly_one_mebibyte_is_accepted(client, token):
    text = json.dumps(TASK)
    body = text + " " * (MAX_BODY_BYTES - len(text))
    assert len(body.encode()) == MAX_BODY_BYTES
    assert post(client, body, token).status_code == 201


def test_the_write_api_stays_token_based_when_reads_need_a_login(client, token, settings):
    settings.PERFSITE_REQUIRE_LOGIN = True
    assert post(client, TASK, token).status_code == 201


# --- 400: invalid fields -----------------------------------------------------------------------

INVALID_FIELDS = [
    ({"task_type": 42}, "task_type", MSG_NOT_TEXT),
    ({"task_type": "x" * 201}, "task_type", "Must be at most 200 characters (got 201)."),
    ({"description": "bad\u0000text"}, "description", MSG_NUL),
    ({"task_type": None, "description": "  "}, "task_type", MSG_NO_TASK),
    ({"complexity": "enormous"}, "complexity", MSG_COMPLEXITY),
    ({"model_used": ["GLM"]}, "model_used", MSG_NOT_TEXT),
    ({"duration": -1}, "duration", MSG_NEGATIVE),
    ({"duration": "180"}, "duration", MSG_NOT_NUMBER),
    ({"duration": 10**9}, "duration", "Must be at most 31622400 seconds (a year)."),
    ({"success": "yes"}, "success", MSG_NOT_BOOL),
    ({"documentation_updated": 1}, "documentation_updated", MSG_NOT_BOOL),
    ({"skills_used": [1, 2]}, "skills_used", MSG_NOT_LIST),
    ({"agents_delegated": {"a": 1}}, "agents_delegated", MSG_NOT_LIST),
    ({"files_modified": 2.5}, "files_modified", MSG_NOT_INTEGER),
    ({"lines_changed": -3}, "lines_changed", MSG_NEGATIVE),
    ({"quality_improvement": 150}, "quality_improvement", "Must be between -100 and 100 points."),
    ({"issues_found": [None]}, "issues_found", MSG_NOT_LIST),
    ({"recommendations": ["x" * 2001]}, "recommendations", "Each item must be at most 2000 "),
    ({"code_quality": True}, "code_quality", MSG_NOT_NUMBER),
    ({"quality_score": "high"}, "quality_score", MSG_NOT_NUMBER),
    ({"recorded_at": "yesterday"}, "recorded_at", MSG_TIMESTAMP),
    ({"recorded_at": "1999-12-31T23:59:59Z"}, "recorded_at", MSG_TIMESTAMP),
    ({"record_id": "has space"}, "record_id", MSG_RECORD_ID_CHARS),
    ({"record_id": "a/b"}, "record_id", MSG_RECORD_ID_CHARS),
    ({"session": "nul\u0000inside"}, "task_data", "Must not contain NUL characters."),
]


@pytest.mark.parametrize(("change", "field", "message"), INVALID_FIELDS)
def test_each_kind_of_invalid_field_is_a_400_naming_it(client, token, change, field, message):
    response = post(client, TASK | change, token)
    assert response.status_code == 400
    found = errors(response)
    assert list(found) == [field]
    assert found[field][0].startswith(message)
    assert not TaskRecord.objects.exists()


def test_every_bad_field_is_named_at_once(client, token):
    body = dict(TASK, duration=-1, success="no", complexity="x", record_id="a b")
    response = post(client, body, token)
    assert response.status_code == 400
    assert set(errors(response)) == {"duration", "success", "complexity", "record_id"}


# --- 400: not one JSON object ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"task_type": "coding"', "Malformed JSON: Expecting ',' delimiter"),
        ("", "Malformed JSON: Expecting value at line 1 column 1."),
        ('{"task_type": "coding", "duration": NaN}', "Malformed JSON: NaN is not a number"),
        ('{"task_type": "coding", "duration": Infinity}', "Malformed JSON: Infinity is not"),
        ("[" * 100_000 + "]" * 100_000, "Malformed JSON: nested too deeply."),
        ('{"task_type": "caf\xe9"}'.encode("latin-1"), "Must be UTF-8 encoded JSON."),
        ('"refactoring"', MSG_NOT_TASKS),
        ("null", MSG_NOT_TASKS),
        ("42", MSG_NOT_TASKS),
    ],
)
def test_malformed_json_or_a_body_neither_an_object_nor_a_list_is_a_400(
    client, token, body, message
):
    response = post(client, body, token)
    assert response.status_code == 400
    assert list(errors(response)) == ["body"]
    assert errors(response)["body"][0].startswith(message)
    assert not TaskRecord.objects.exists()


# --- 401 ---------------------------------------------------------------------------------------


def test_no_token_is_a_401_with_a_bearer_challenge(client):
    response = post(client, TASK)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="perfsite"'
    assert errors(response) == {"authorization": [api.MSG_TOKEN_MISSING]}
    assert not TaskRecord.objects.exists()


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_credentials_that_are_not_a_bearer_token_are_a_401(client, token, header):
    response = post(client, TASK, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert errors(response) == {"authorization": [api.MSG_TOKEN_MISSING]}


def test_a_wrong_token_is_a_401(client, token):
    response = post(client, TASK, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="perfsite", error="invalid_token"')
    assert errors(response) == {"authorization": [api.MSG_TOKEN_INVALID]}
    assert not TaskRecord.objects.exists()


def test_a_revoked_token_is_a_401(client, token):
    assert post(client, TASK, token).status_code == 201
    tokens_revoke(tokens=ApiToken.objects.all())
    response = post(client, TASK, token)
    assert response.status_code == 401
    assert errors(response) == {"authorization": [api.MSG_TOKEN_REVOKED]}
    assert TaskRecord.objects.count() == 1


def test_the_bearer_scheme_is_case_insensitive_and_use_is_recorded(client, token):
    response = post(client, TASK, HTTP_AUTHORIZATION=f"bearer {token}")
    assert response.status_code == 201
    assert ApiToken.objects.get().last_used_at is not None


def test_the_token_is_checked_before_the_body_is_read(client):
    response = post(client, "{not json")
    assert response.status_code == 401


# --- 413 ---------------------------------------------------------------------------------------


def test_a_body_over_one_mebibyte_is_a_413_and_nothing_is_stored(client, token):
    body = json.dumps(dict(TASK, description="x" * MAX_BODY_BYTES))
    response = post(client, body, token)
    assert response.status_code == 413
    assert list(errors(response)) == ["body"]
    assert not TaskRecord.objects.exists()


def test_one_byte_over_is_already_too_large(client, token):
    text = json.dumps(TASK)
    body = text + " " * (MAX_BODY_BYTES + 1 - len(text))
    assert post(client, body, token).status_code == 413


def test_a_large_body_without_content_length_is_refused_by_the_bounded_read(token):
    """Chunked uploads (ASGI) carry no Content-Length: the read itself stops past 1 MiB."""
    payload = json.dumps(dict(TASK, description="x" * (2 * MAX_BODY_BYTES))).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": URL,
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    request = ASGIRequest(scope, io.BytesIO(payload))
    assert "CONTENT_LENGTH" not in request.META
    response = api.records_create(request)
    assert response.status_code == 413
    assert not TaskRecord.objects.exists()


# --- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_other_methods_are_a_405_that_says_to_post(client, token, method):
    response = getattr(client, method)(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "head":
        assert errors(response) == {"method": [api.MSG_METHOD]}


# --- idempotent retries ------------------------------------------------------------------------


def test_the_same_record_id_again_returns_the_first_record_with_200(client, token):
    body = dict(TASK, record_id="orchestrator-run-7-task-3")
    first = post(client, body, token)
    again = post(client, dict(body, description="a retry may differ; the first record wins"), token)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"record_id": "orchestrator-run-7-task-3"}
    assert TaskRecord.objects.get().description == TASK["description"]


def test_the_same_idempotency_key_again_returns_the_first_record_with_200(client, token):
    key = "5b0e6a8e-3f4b-4d7e-9d53-0c4f7a1e2b11"
    first = post(client, TASK, token, HTTP_IDEMPOTENCY_KEY=key)
    again = post(client, TASK, token, HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["record_id"].startswith(IDEMPOTENCY_PREFIX)
    assert TaskRecord.objects.count() == 1


def test_different_idempotency_keys_are_different_tasks(client, token):
    for key in ("key-1", "key-2"):
        assert post(client, TASK, token, HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    assert TaskRecord.objects.count() == 2


def test_an_idempotency_key_belongs_to_its_token(client, token):
    other = token_create(name="other host")[1]
    assert post(client, TASK, token, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert post(client, TASK, other, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert TaskRecord.objects.count() == 2


def test_a_record_id_in_the_body_wins_over_the_idempotency_key(client, token):
    response = post(client, dict(TASK, record_id="mine"), token, HTTP_IDEMPOTENCY_KEY="k")
    assert response.json() == {"record_id": "mine"}


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\tinside", "é"])
def test_an_invalid_idempotency_key_is_a_400(client, token, key):
    response = post(client, TASK, token, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert errors(response) == {"Idempotency-Key": [MSG_IDEMPOTENCY_KEY]}
    assert not TaskRecord.objects.exists()


# --- CSRF, busy database -------------------------------------------------------------------------


def test_csrf_does_not_apply_to_token_requests_but_still_guards_session_forms(token):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, TASK, token).status_code == 201
    login = strict.post("/admin/login/", {"username": "x", "password": "y"})
    assert login.status_code == 403


def test_a_database_locked_through_every_retry_is_a_503_to_retry(client, token, monkeypatch):
    def locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(api, "task_record", locked)
    response = post(client, TASK, token)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert list(errors(response)) == ["database"]


def test_the_token_use_is_not_written_on_every_request(client, token):
    post(client, TASK, token)
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None and first_use <= timezone.now()
    post(client, TASK, token)
    assert ApiToken.objects.get().last_used_at == first_use
