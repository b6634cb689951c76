"""Fuzz the JSON API from its own OpenAPI document: no 5xx, and every answer matches the document.

Schemathesis loads /api/openapi.json through the WSGI application (no network, no server
process) and calls every operation with up to MAX_EXAMPLES generated requests each, valid and
invalid, with a real Bearer token for POST /api/records. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from perfsite.wsgi import application
from records.recording.tokens import token_create
from tests.factories import TaskRecordFactory

MAX_EXAMPLES = 50

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


# Loaded from the application itself (through WSGI, no network) when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """In-process WSGI calls share the test's connection and transaction, as Django's test client
    does: the end of a request must not close the connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db) -> dict[str, str]:
    TaskRecordFactory.create_batch(3, skills=["code-analysis"], agents=["reviewer"])
    _, key = token_create(name="schemathesis")
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
