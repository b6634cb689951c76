"""Requests framed in unusual ways: record ids no record can have, and chunked bodies.

``GET /records/%00/`` reached the database with a NUL, which PostgreSQL refuses (500); a chunked
POST body has no Content-Length and read as empty (400 "Malformed JSON"). The real chunked request
through gunicorn is in tests/records/test_api_through_gunicorn.py; here the WSGI environ a
de-chunking server gives (no CONTENT_LENGTH, ``wsgi.input_terminated``) and one that cannot.
"""

from __future__ import annotations

import io
import json

import pytest

from records.models import TaskRecord
from records.recording.api import MSG_LENGTH_REQUIRED, MSG_TOO_LARGE
from records.recording.ingest import MAX_BODY_BYTES
from records.recording.tokens import token_create
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

TASK = {"task_type": "testing", "description": "Cover the parser", "duration": 60}


@pytest.mark.parametrize(
    "path",
    ["/records/%00/", "/records/run-1%00/", "/records/%00%00%00/", f"/records/{'x' * 201}/"],
)
def test_a_record_path_no_record_can_have_is_a_404(client, path):
    TaskRecordFactory(record_id="run-1")
    assert client.get(path).status_code == 404


def test_real_record_paths_still_open(client):
    TaskRecordFactory(record_id="legacy/run:1%")
    TaskRecordFactory(record_id="x" * 200)
    assert client.get("/records/legacy/run:1%25/").status_code == 200
    assert client.get(f"/records/{'x' * 200}/").status_code == 200


@pytest.fixture
def token() -> str:
    return token_create(name="chunks")[1]


def post_without_length(client, token: str, body: bytes, *, terminated: bool):
    """POST as a server hands Django a chunked body: no CONTENT_LENGTH; a de-chunking server
    (gunicorn) marks the input as ending with the body, others (runserver) do not."""
    environ = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return client.generic("POST", "/api/records", body, "application/json", **environ)


def test_a_chunked_body_from_a_de_chunking_server_is_read(client, token):
    response = post_without_length(client, token, json.dumps(TASK).encode(), terminated=True)
    assert response.status_code == 201
    record = TaskRecord.objects.get(record_id=response.json()["record_id"])
    assert record.description == TASK["description"]


def test_a_chunked_body_over_the_limit_is_a_413(client, token):
    body = json.dumps(dict(TASK, description="x" * MAX_BODY_BYTES)).encode()
    response = post_without_length(client, token, body, terminated=True)
    assert response.status_code == 413
    assert response.json() == {"errors": {"body": [MSG_TOO_LARGE]}}
    assert not TaskRecord.objects.exists()


def test_a_chunked_body_a_server_cannot_read_is_a_411_not_malformed_json(client, token):
    response = post_without_length(client, token, json.dumps(TASK).encode(), terminated=False)
    assert response.status_code == 411
    assert response.json() == {"errors": {"body": [MSG_LENGTH_REQUIRED]}}
    assert not TaskRecord.objects.exists()
