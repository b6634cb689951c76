"""POST /api/records with a JSON list: per-item results, limits, idempotency, token scoping, and
rollups that stay equal to a rebuild. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, transaction
from django.test import Client

from records.models import RecordAgent, RecordSkill, Rollup, TaskRecord
from records.recorder import record_task_performance
from records.recording import services
from records.recording.api import MSG_RECORD_ID_TAKEN, MSG_TOO_LARGE
from records.recording.ingest import (
    IDEMPOTENCY_PREFIX,
    MAX_BATCH,
    MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
    MSG_BATCH_EMPTY,
    MSG_RECORD_ID_RESERVED,
)
from records.recording.schema import MSG_NEGATIVE, MSG_NOT_BOOL, MSG_NOT_OBJECT
from records.recording.tokens import token_create
from tests.records.test_rollups import rebuild, snapshot, without_ids

pytestmark = pytest.mark.django_db

URL = "/api/records"
BASE = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
TYPES = ["coding", "debugging", "testing", "refactoring"]


def task(i: int, **changes) -> dict:
    return {
        "task_type": TYPES[i % len(TYPES)],
        "description": f"batch task {i}",
        "duration": 60 + 97.3 * i,
        "success": i % 4 != 0,
        "skills_used": ["code-analysis", "pattern-learning", "testing"][: i % 4],
        "agents_delegated": ["code-analyzer"] if i % 2 else [],
        "issues_found": ["Long function"] * (i % 3),
        "model_used": ["GLM-4.6", "claude-sonnet-4-5"][i % 2],
        "recorded_at": (BASE + timedelta(minutes=37 * i)).isoformat(),
        "auto_generated": i % 5 != 0,
    } | changes


@pytest.fixture
def token() -> str:
    return token_create(name="batch")[1]


def post(client: Client, body, token: str, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(URL, data=data, content_type="application/json", **headers)


def statuses(response) -> list[int]:
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [item["index"] for item in results] == list(range(len(results)))
    return [item["status"] for item in results]


# --- storing -------------------------------------------------------------------------------


def test_a_list_stores_every_task_and_answers_each_with_its_record_id(client, token):
    tasks = [task(i, record_id=f"run-1-{i}") for i in range(6)]
    response = post(client, tasks, token)
    assert statuses(response) == [201] * 6
    body = response.json()
    assert (body["created"], body["stored"], body["failed"]) == (6, 0, 0)
    ids = [item["record_id"] for item in body["results"]]
    assert ids == [f"run-1-{i}" for i in range(6)]
    records = {r.record_id: r for r in TaskRecord.objects.select_related("model", "api_token")}
    assert set(records) == set(ids)
    third = records["run-1-3"]
    assert third.task_type == "refactoring" and third.model.name == "Claude Sonnet 4.5"
    assert third.source == "api" and third.api_token.name == "batch"
    assert sorted(third.skills.values_list("name", flat=True)) == [
        "code-analysis",
        "pattern-learning",
        "testing",
    ]
    assert list(third.agents.values_list("name", flat=True)) == ["code-analyzer"]
    assert third.issues == []
    assert third.raw == [{"source": "api", "payload": tasks[3]}]
    assert records["run-1-2"].issues_count == 2


def test_a_list_is_stored_with_debug_on(client, token, settings):
    """With DEBUG on, Django logs every statement by filling its %s placeholders in, so the
    bulk statements keep %s then (elsewhere they use SQLite's own ?, which no log fills)."""
    settings.DEBUG = True
    response = post(client, [task(i) for i in range(3)], token)
    assert statuses(response) == [201] * 3
    assert TaskRecord.objects.filter(description__startswith="batch task").count() == 3
    incremental = snapshot()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_tasks_without_record_ids_get_new_ones(client, token):
    response = post(client, [task(0), task(1)], token)
    ids = [item["record_id"] for item in response.json()["results"]]
    assert statuses(response) == [201, 201] and len(set(ids)) == 2
    assert all(rid.startswith("coding-") or rid.startswith("debugging-") for rid in ids)
    assert TaskRecord.objects.count() == 2


def test_each_task_is_scored_as_if_it_had_been_sent_alone_in_list_order(client, token):
    """Same columns as recording one by one, including the baseline improvement, which reads the
    stored records and the list's earlier tasks (times out of order, some before the stored)."""
    for i in range(8):  # history already stored
        record_task_performance(task(i, record_id=f"old-{i}"))
    minutes = [400, 10, 15, 500, 5, 1000, 15, 2, 300, 301, 299, 700]
    tasks = [
        task(i, record_id=f"new-{i}", recorded_at=(BASE + timedelta(minutes=m)).isoformat())
        for i, m in enumerate(minutes)
    ]
    tasks[4]["quality_improvement"] = 12.5
    del tasks[6]["recorded_at"]  # "now": after everything
    columns = ["record_id", "task_type", "quality_score", "performance_index"]
    columns += ["time_efficiency", "quality_improvement", "success", "auto_generated"]

    with transaction.atomic():
        for one in tasks:
            record_task_performance(one)
        alone = list(TaskRecord.objects.filter(record_id__startswith="new-").values(*columns))
        transaction.set_rollback(True)
    assert not TaskRecord.objects.filter(record_id__startswith="new-").exists()

    assert statuses(post(client, tasks, token)) == [201] * len(tasks)
    batched = list(TaskRecord.objects.filter(record_id__startswith="new-").values(*columns))
    assert sorted(batched, key=lambda r: r["record_id"]) == sorted(
        alone, key=lambda r: r["record_id"]
    )
    assert sum(r["quality_improvement"] is not None for r in batched) >= 8


# --- invalid items ---------------------------------------------------------------------------


def test_invalid_items_are_named_by_index_and_the_valid_ones_are_stored(client, token):
    tasks = [task(0), task(1, duration=-1, success="yes"), "not a task", task(3), {}]
    response = post(client, tasks, token)
    assert statuses(response) == [201, 400, 400, 201, 400]
    body = response.json()
    assert (body["created"], body["stored"], body["failed"]) == (2, 0, 3)
    results = body["results"]
    assert results[1]["errors"]["duration"] == [MSG_NEGATIVE]
    assert results[1]["errors"]["success"] == [MSG_NOT_BOOL]
    assert "record_id" not in results[1]
    assert results[2]["errors"] == {"task_data": [MSG_NOT_OBJECT]}
    assert list(results[4]["errors"]) == ["task_type"]
    stored = set(TaskRecord.objects.values_list("record_id", flat=True))
    assert stored == {results[0]["record_id"], results[3]["record_id"]}


def test_a_list_with_only_invalid_items_stores_nothing(client, token):
    response = post(client, [task(0, complexity="huge"), task(1, files_modified=1.5)], token)
    assert statuses(response) == [400, 400]
    assert not TaskRecord.objects.exists()


def test_a_body_record_id_that_looks_like_an_idempotency_id_is_refused_per_item(client, token):
    response = post(client, [task(0, record_id=f"{IDEMPOTENCY_PREFIX}abc"), task(1)], token)
    assert statuses(response) == [400, 201]
    assert response.json()["results"][0]["errors"]["record_id"] == [MSG_RECORD_ID_RESERVED]


# --- limits ------------------------------------------------------------------------------------


def test_a_full_list_of_a_thousand_tasks_over_one_mebibyte_is_stored(client, token):
    tasks = [task(i, description=f"task {i} " + "x" * 1100) for i in range(MAX_BATCH)]
    body = json.dumps(tasks)
    assert MAX_BODY_BYTES < len(body.encode()) <= MAX_BATCH_BODY_BYTES
    response = post(client, body, token)
    assert statuses(response) == [201] * MAX_BATCH
    assert TaskRecord.objects.count() == MAX_BATCH
    assert RecordSkill.objects.count() == sum(i % 4 for i in range(MAX_BATCH))
    assert RecordAgent.objects.count() == MAX_BATCH // 2


def test_a_list_over_the_limit_is_refused_whole_naming_the_limit(client, token):
    response = post(client, [{"task_type": "coding"}] * (MAX_BATCH + 1), token)
    assert response.status_code == 413
    (message,) = response.json()["errors"]["body"]
    assert "at most 1,000 tasks" in message and "1,001" in message
    assert not TaskRecord.objects.exists()


def test_an_empty_list_is_a_400(client, token):
    response = post(client, "[]", token)
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": [MSG_BATCH_EMPTY]}


def test_one_object_over_one_mebibyte_is_still_refused(client, token):
    body = json.dumps(task(0)) + " " * MAX_BODY_BYTES
    response = post(client, body, token)
    assert response.status_code == 413
    assert response.json()["errors"] == {"body": [MSG_TOO_LARGE]}


def test_a_list_over_eight_mebibytes_is_refused(client, token):
    body = "[" + " " * MAX_BATCH_BODY_BYTES + json.dumps(task(0)) + "]"
    response = post(client, body, token)
    assert response.status_code == 413
    assert not TaskRecord.objects.exists()


# --- idempotency and token scope ---------------------------------------------------------------


def test_retrying_a_list_with_record_ids_stores_nothing_twice(client, token):
    tasks = [task(i, record_id=f"retry-{i}") for i in range(5)]
    assert statuses(post(client, tasks[:3], token)) == [201] * 3  # the first try got through
    retry = post(client, tasks, token)
    assert statuses(retry) == [200, 200, 200, 201, 201]
    assert [item["record_id"] for item in retry.json()["results"]] == [
        t["record_id"] for t in tasks
    ]
    assert TaskRecord.objects.count() == 5
    assert all(len(r.raw) == 1 for r in TaskRecord.objects.all())


def test_retrying_a_list_with_the_same_idempotency_key_stores_nothing_twice(client, token):
    tasks = [task(i) for i in range(4)]
    first = post(client, tasks, token, HTTP_IDEMPOTENCY_KEY="batch-7")
    again = post(client, tasks, token, HTTP_IDEMPOTENCY_KEY="batch-7")
    ids = [item["record_id"] for item in first.json()["results"]]
    assert statuses(first) == [201] * 4 and statuses(again) == [200] * 4
    assert [item["record_id"] for item in again.json()["results"]] == ids
    assert all(rid.startswith(IDEMPOTENCY_PREFIX) for rid in ids) and len(set(ids)) == 4
    other_key = post(client, tasks, token, HTTP_IDEMPOTENCY_KEY="batch-8")
    assert statuses(other_key) == [201] * 4
    single = post(client, tasks[0], token, HTTP_IDEMPOTENCY_KEY="batch-7")  # not item 0's key
    assert single.status_code == 201 and single.json()["record_id"] not in ids
    assert TaskRecord.objects.count() == 9


def test_a_record_id_given_twice_in_one_list_is_stored_once(client, token):
    response = post(client, [task(0, record_id="twice"), task(1, record_id="twice")], token)
    assert statuses(response) == [201, 200]
    assert TaskRecord.objects.get().description == "batch task 0"


def test_record_ids_of_another_token_are_a_409_per_item(client, token):
    other = token_create(name="other")[1]
    assert post(client, task(0, record_id="shared"), other).status_code == 201
    record_task_performance(task(1, record_id="local"))  # not through the API: no token's
    response = post(
        client,
        [task(2, record_id="shared"), task(3, record_id="mine"), task(4, record_id="local")],
        token,
    )
    assert statuses(response) == [409, 201, 409]
    results = response.json()["results"]
    assert results[0] == {
        "index": 0,
        "status": 409,
        "record_id": "shared",
        "errors": {"record_id": [MSG_RECORD_ID_TAKEN]},
    }
    shared = TaskRecord.objects.get(record_id="shared")
    assert shared.api_token.name == "other" and shared.description == "batch task 0"
    assert TaskRecord.objects.get(record_id="mine").api_token.name == "batch"
    # The same Idempotency-Key from two tokens: two sets of records, each token's own.
    a = post(client, [task(5)], token, HTTP_IDEMPOTENCY_KEY="k")
    b = post(client, [task(5)], other, HTTP_IDEMPOTENCY_KEY="k")
    assert statuses(a) == [201] and statuses(b) == [201]
    assert a.json()["results"][0]["record_id"] != b.json()["results"][0]["record_id"]


# --- rollups and failures ----------------------------------------------------------------------


def test_rollups_after_batches_equal_a_rebuild(client, token):
    record_task_performance(task(99))
    assert statuses(post(client, [task(i) for i in range(40)], token)) == [201] * 40
    mixed = [task(40 + i) for i in range(10)] + [task(3, duration=-5)]
    assert statuses(post(client, mixed, token)) == [201] * 10 + [400]
    assert statuses(post(client, [task(i) for i in range(3)], token)) == [201] * 3
    incremental = snapshot()
    assert sum(Rollup.objects.filter(span="d").values_list("count", flat=True)) == 54
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_a_database_failure_stores_nothing_of_the_list_and_is_a_503(client, token, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(services, "apply_rollups", broken)
    response = post(client, [task(i) for i in range(5)], token)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert not TaskRecord.objects.exists() and not RecordSkill.objects.exists()


def test_the_garbage_collector_runs_again_after_a_list_stored_or_failed(client, token, monkeypatch):
    # Storing a list pauses the cyclic collector (a fifth of its CPU); it must never stay off.
    assert gc.isenabled()
    assert statuses(post(client, [task(i) for i in range(3)], token)) == [201] * 3
    assert gc.isenabled()
    assert post(client, [task(i) | {"duration": -1} for i in range(2)], token).status_code == 200
    assert gc.isenabled()

    def broken(*args, **kwargs):
        assert not gc.isenabled()  # paused while the list is written
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(services, "apply_rollups", broken)
    assert post(client, [task(i) for i in range(5, 8)], token).status_code == 503
    assert gc.isenabled()


def test_every_answer_to_a_list_is_documented(client, token):
    from tests.records.test_openapi import assert_documented

    document = client.get("/api/openapi.json").json()
    other = token_create(name="other")[1]
    post(client, task(0, record_id="theirs"), other)
    answers = [
        post(client, [task(1, record_id="doc-1"), task(2, duration=-1)], token),
        post(client, [task(1, record_id="doc-1"), task(3, record_id="theirs")], token),
        post(client, "[]", token),
        post(client, [{"task_type": "coding"}] * (MAX_BATCH + 1), token),
    ]
    assert [r.status_code for r in answers] == [200, 200, 400, 413]
    assert statuses(answers[0]) == [201, 400] and statuses(answers[1]) == [200, 409]
    for response in answers:
        assert_documented(document, "/api/records", "post", response)
    schema = document["paths"]["/api/records"]["post"]["requestBody"]["content"]
    assert schema["application/json"]["schema"] == {
        "oneOf": [{"$ref": "#/components/schemas/Task"}, {"$ref": "#/components/schemas/Tasks"}]
    }
    assert document["components"]["schemas"]["Tasks"]["maxItems"] == MAX_BATCH
