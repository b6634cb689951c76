"""SQLite: a list's WAL checkpoint runs in the background after its commit, not in its request,
and the writing connection keeps SQLite's automatic checkpoint for every other write."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3

import pytest
from django.db import connection
from django.test import Client

from records.recording import wal
from records.recording.ingest import tasks_record
from records.recording.tokens import token_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log"),
]


def _task(i: int) -> dict:
    return {"task_type": "debugging", "description": f"wal task {i}", "duration": 30.0 + i}


def _autocheckpoint() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return cursor.fetchone()[0]


def _records_in_database_file(tmp_path) -> int:
    """Records of the test in the database file alone, without its -wal: what checkpoints have
    copied into it."""
    copy = tmp_path / "main-file-only.sqlite3"
    shutil.copyfile(connection.settings_dict["NAME"], copy)
    with contextlib.closing(sqlite3.connect(copy)) as db:
        query = "SELECT COUNT(*) FROM records_taskrecord WHERE description LIKE 'wal task %'"
        return db.execute(query).fetchone()[0]


def test_a_list_sent_over_http_reaches_the_database_file_without_another_write(tmp_path):
    raw = token_create(name="wal")[1]
    # Another connection stays open, as the server's other workers' do: closing the last
    # connection would checkpoint by itself and hide whether anything else did.
    with contextlib.closing(sqlite3.connect(connection.settings_dict["NAME"])):
        response = Client().post(
            "/api/records",
            data=json.dumps([_task(i) for i in range(25)]),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 200, response.content
        assert response.json()["created"] == 25
        # 25 records change far fewer pages than the 1,000 that make a commit checkpoint.
        assert wal.settle(timeout=10)
        assert _records_in_database_file(tmp_path) == 25


def test_the_connection_keeps_its_automatic_checkpoint_after_a_list_and_after_a_failed_one():
    assert _autocheckpoint() == 1000
    tasks_record(tasks=[_task(i) for i in range(3)], source="cli")
    assert _autocheckpoint() == 1000
    with pytest.raises(RuntimeError), wal.atomic_checkpoint_later():
        assert _autocheckpoint() == 0  # inside the write: its commit does not checkpoint
        raise RuntimeError("the write fails")
    assert _autocheckpoint() == 1000
    assert wal.settle(timeout=10)


def test_a_checkpoint_of_a_missing_database_is_logged_and_later_writes_still_work(caplog):
    with caplog.at_level("WARNING", logger="records.recording.wal"):
        wal.checkpoint_soon("/nonexistent/folder/perfsite.sqlite3")
        assert wal.settle(timeout=10)
    assert "WAL checkpoint of /nonexistent/folder/perfsite.sqlite3 failed" in caplog.text
    assert tasks_record(tasks=[_task(0)], source="cli")
    assert wal.settle(timeout=10)
