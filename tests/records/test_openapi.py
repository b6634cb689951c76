"""/api/openapi.json is a valid OpenAPI 3.1 document, and what the API really does matches it."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import Resolver404, resolve
from openapi_spec_validator import validate as validate_openapi

from records.models import ApiToken
from records.recorder import get_performance_summary
from records.recording.ingest import MAX_BODY_BYTES
from records.recording.json_schema import TASK_FIELDS
from records.recording.tokens import token_create, tokens_revoke
from tests.factories import TaskRecordFactory
from tests.support.schema import validator_for

pytestmark = pytest.mark.django_db

DOC_URL = "/api/openapi.json"
READ_PATHS = ["/api/summary", "/api/recent-performance-records"]


@pytest.fixture
def document(client) -> dict:
    response = client.get(DOC_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def schema_validator(document: dict, schema: dict):
    """A validator for one schema of the document, resolving its #/components references."""
    return validator_for(schema, document["components"])


def assert_documented(document: dict, path: str, method: str, response) -> None:
    """The response's status is documented for the operation and its JSON body matches."""
    responses = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered undocumented {status}"
    media = responses[status]["content"]
    assert response["Content-Type"] in media
    schema = media[response["Content-Type"]]["schema"]
    errors = list(schema_validator(document, schema).iter_errors(response.json()))
    assert not errors, [e.message for e in errors]
    for header in responses[status].get("headers", {}):
        assert response.has_header(header), header


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate_openapi(document)


def test_every_documented_path_is_served(document):
    for path in document["paths"]:
        try:
            resolve(path)
        except Resolver404:
            assert path in READ_PATHS, f"{path} is documented but not served"


def test_undocumented_methods_of_the_write_endpoint_are_a_405(client, document):
    operations = document["paths"]["/api/records"]
    for method in ("get", "put", "patch", "delete"):
        assert method not in operations
        assert getattr(client, method)("/api/records").status_code == 405


def test_the_request_schema_lists_every_task_field(document):
    properties = document["components"]["schemas"]["Task"]["properties"]
    assert set(properties) == set(TASK_FIELDS)
    for name, schema in properties.items():
        assert "type" in schema or "anyOf" in schema, name


def test_the_documented_example_is_recorded(client, document):
    raw = token_create(name="doc")[1]
    operation = document["paths"]["/api/records"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    response = client.post(
        "/api/records",
        data=json.dumps(example),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201
    assert_documented(document, "/api/records", "post", response)


def test_every_answer_of_post_api_records_is_documented(client, document):
    raw = token_create(name="doc")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    task = json.dumps({"task_type": "coding", "record_id": "doc-1"})

    def post(data: str, **headers):
        return client.post("/api/records", data=data, content_type="application/json", **headers)

    answers = [
        post(task, **auth),  # 201
        post(task, **auth),  # 200: the retry
        post('{"task_type": 5}', **auth),  # 400: a field
        post("{oops", **auth),  # 400: the body
        post(task, **auth, HTTP_IDEMPOTENCY_KEY="has space"),  # 400: the header
        post(task),  # 401
        post(" " * (MAX_BODY_BYTES + 1), **auth),  # 413
    ]
    tokens_revoke(tokens=ApiToken.objects.all())
    answers.append(post(task, **auth))  # 401: revoked
    assert [r.status_code for r in answers] == [201, 200, 400, 400, 400, 401, 413, 401]
    for response in answers:
        assert_documented(document, "/api/records", "post", response)


def test_the_summary_matches_its_documented_schema(document):
    TaskRecordFactory.create_batch(3, skills=["code-analysis"], agents=["test-engineer"])
    TaskRecordFactory(task_type="debugging", success=False, duration_seconds=None)
    schema = document["components"]["schemas"]["Summary"]
    for days in (1, 30):
        summary = json.loads(json.dumps(get_performance_summary(days=days)))
        errors = list(schema_validator(document, schema).iter_errors(summary))
        assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("path", READ_PATHS)
def test_the_read_endpoints_answer_as_documented(client, document, path):
    try:
        resolve(path)
    except Resolver404:
        pytest.skip(f"{path} is served by the dashboard app, not in this checkout yet")
    TaskRecordFactory.create_batch(3, skills=["code-analysis"])
    for query in ("", "?days=7", "?days=0", "?days=abc"):
        response = client.get(path + query)
        assert_documented(document, path, "get", response)


def _patterns(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for item in node for p in _patterns(item)]
    return []


def test_patterns_mean_the_same_in_ecma_262_and_python(document):
    """\\s, \\d, \\w and \\b match different characters in ECMA-262 (the OpenAPI dialect, used by
    schemathesis) and in Python's re (used by the server): the document spells classes out."""
    patterns = _patterns(document)
    assert len(patterns) > 10
    for pattern in patterns:
        assert not re.search(r"\\[sSdDwWbB]", pattern), pattern
        re.compile(pattern)
