"""Client record ids belong to the API token that stored them.

A record_id (from the body, or made from an Idempotency-Key) that another token or another door
already stored is answered 409 and nothing is stored; the token that stored it gets 200 and its
record back, as a retry should. Ids with the Idempotency-Key prefix cannot be named in a body, so
no token can claim the id another token's retry will use.
"""

from __future__ import annotations

import json

import pytest

from records.models import TaskRecord
from records.recorder import record_task_performance
from records.recording.api import MSG_RECORD_ID_TAKEN
from records.recording.ingest import (
    IDEMPOTENCY_PREFIX,
    MSG_RECORD_ID_RESERVED,
    idempotency_record_id,
)
from records.recording.openapi import openapi_document
from records.recording.tokens import token_create
from tests.records.test_openapi import assert_documented

pytestmark = pytest.mark.django_db

URL = "/api/records"
TASK = {"task_type": "debugging", "description": "Fix crash on empty input", "duration": 240}


@pytest.fixture
def alice():
    return token_create(name="alice-host")


@pytest.fixture
def bob():
    return token_create(name="bob-host")


def post(client, token: str, body=TASK, **headers):
    return client.post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


def test_a_token_cannot_pre_claim_the_id_of_another_tokens_idempotency_key(client, alice, bob):
    (_, alice_raw), (bob_row, bob_raw) = alice, bob
    bobs_id = idempotency_record_id(key="run-42-task-7", scope=str(bob_row.pk))
    claim = post(client, alice_raw, dict(TASK, description="squatting", record_id=bobs_id))
    assert claim.status_code == 400
    assert claim.json() == {"errors": {"record_id": [MSG_RECORD_ID_RESERVED]}}

    response = post(client, bob_raw, HTTP_IDEMPOTENCY_KEY="run-42-task-7")
    assert response.status_code == 201
    record = TaskRecord.objects.get()
    assert (record.record_id, record.description) == (bobs_id, TASK["description"])
    assert record.api_token == bob_row


def test_the_reserved_prefix_is_reported_with_the_other_field_errors(client, alice):
    body = dict(TASK, duration=-1, record_id=f"{IDEMPOTENCY_PREFIX}mine")
    response = post(client, alice[1], body)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"duration", "record_id"}
    assert not TaskRecord.objects.exists()


def test_another_tokens_record_id_is_a_409_and_stores_nothing(client, alice, bob):
    (alice_row, alice_raw), (_, bob_raw) = alice, bob
    assert post(client, alice_raw, dict(TASK, record_id="run-7-task-3")).status_code == 201

    response = post(client, bob_raw, dict(TASK, description="bob's", record_id="run-7-task-3"))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": {"record_id": [MSG_RECORD_ID_TAKEN]}}
    record = TaskRecord.objects.get()
    assert (record.api_token, record.description) == (alice_row, TASK["description"])


def test_the_token_that_stored_an_id_still_gets_200_on_a_retry(client, alice, bob):
    alice_raw = alice[1]
    first = post(client, alice_raw, dict(TASK, record_id="run-7-task-3"))
    post(client, bob[1], dict(TASK, record_id="run-7-task-3"))  # 409, changes nothing
    again = post(client, alice_raw, dict(TASK, record_id="run-7-task-3"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"record_id": "run-7-task-3"}
    assert TaskRecord.objects.count() == 1


def test_an_id_stored_by_another_door_is_a_409_through_the_api(client, alice):
    record_task_performance(dict(TASK, record_id="local-run-1"), "GLM-4.6")
    response = post(client, alice[1], dict(TASK, record_id="local-run-1"))
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["record_id"]
    assert TaskRecord.objects.get().api_token is None


def test_a_key_whose_id_another_door_stored_is_a_409(client, alice):
    alice_row, alice_raw = alice
    taken = idempotency_record_id(key="k-1", scope=str(alice_row.pk))
    record_task_performance(dict(TASK, record_id=taken), "GLM-4.6")  # e.g. a restored export
    response = post(client, alice_raw, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert TaskRecord.objects.count() == 1


def test_records_stored_through_the_api_remember_their_token(client, alice):
    alice_row, alice_raw = alice
    record_id = post(client, alice_raw, HTTP_IDEMPOTENCY_KEY="k").json()["record_id"]
    assert TaskRecord.objects.get(record_id=record_id).api_token == alice_row
    assert list(alice_row.records.values_list("record_id", flat=True)) == [record_id]


def test_deleting_a_token_keeps_its_records(client, alice):
    alice_row, alice_raw = alice
    post(client, alice_raw, HTTP_IDEMPOTENCY_KEY="k")
    alice_row.delete()
    assert TaskRecord.objects.get().api_token is None


def test_local_doors_keep_finding_their_own_record_ids():
    first = record_task_performance(dict(TASK, record_id="cli-run-9"), "GLM-4.6")
    again = record_task_performance(dict(TASK, record_id="cli-run-9"), "GLM-4.6")
    assert first == again == "cli-run-9"
    assert TaskRecord.objects.count() == 1


def test_the_409_is_documented_in_the_openapi_document(client, alice, bob):
    post(client, alice[1], dict(TASK, record_id="run-1"))
    response = post(client, bob[1], dict(TASK, record_id="run-1"))
    assert response.status_code == 409
    assert_documented(openapi_document(), "/api/records", "post", response)
