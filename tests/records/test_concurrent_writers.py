"""Many processes record at once, through a real gunicorn and through the Python API: none fails.

Runs on a SQLite file (WAL, busy timeout, IMMEDIATE transactions, the bounded retry) always, and
on a fresh PostgreSQL database too when DATABASE_URL points to PostgreSQL. Each backend gets its
own database, migrated by ``manage.py migrate`` in a subprocess, and its own server.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.support import live

pytestmark = pytest.mark.slow

CLIENTS, PER_CLIENT = 4, 100
WRITERS, PER_WRITER = 2, 100


@dataclass
class Site:
    env: dict[str, str]
    url: str
    token: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp(f"live-{request.param}")
    with ExitStack() as stack:
        env = stack.enter_context(live.backend_env(request.param, directory, suffix="conc"))
        live.manage(env, "migrate", "--no-input")
        token = live.create_token(env)
        url = stack.enter_context(live.gunicorn(env, workers=2, log=directory / "gunicorn.log"))
        yield Site(env=env, url=url, token=token)


def test_600_records_from_6_processes_at_once_are_all_stored(site):
    before = live.stored_records(site.env)
    start_at = str(time.time() + 2.0)  # every process starts writing at the same moment
    clients = [
        live.start_script(
            "post_records.py", site.url, site.token, str(PER_CLIENT), f"http-{n}", start_at,
            env=site.env,
        )
        for n in range(CLIENTS)
    ]  # fmt: skip
    writers = [
        live.start_script(
            "record_in_process.py", str(PER_WRITER), f"python-{n}", start_at, env=site.env
        )
        for n in range(WRITERS)
    ]
    http = [live.finish(p) for p in clients]
    python = [live.finish(p) for p in writers]

    assert [r["failures"] for r in http + python] == [[]] * (CLIENTS + WRITERS)
    assert [r["returncode"] for r in http + python] == [0] * (CLIENTS + WRITERS)
    assert all(status == 201 for r in http for status in r["statuses"])
    http_ids = [i for r in http for i in r["ids"]]
    python_ids = [i for r in python for i in r["ids"]]
    assert len(http_ids) == CLIENTS * PER_CLIENT and len(python_ids) == WRITERS * PER_WRITER
    assert len(set(http_ids + python_ids)) == 600

    stored = live.stored_records(site.env)
    new = {record_id: source for record_id, source in stored.items() if record_id not in before}
    assert len(new) == 600
    assert new == {i: "api" for i in http_ids} | {i: "recorder" for i in python_ids}


def test_concurrent_retries_with_one_idempotency_key_store_one_record(site):
    tasks = 25
    start_at = str(time.time() + 1.5)
    clients = [
        live.start_script(
            "post_records.py", site.url, site.token, str(tasks), "retry", start_at,
            "--idempotency-keys", env=site.env,
        )
        for _ in range(4)
    ]  # fmt: skip
    results = [live.finish(p) for p in clients]
    assert [r["failures"] for r in results] == [[]] * 4
    statuses = Counter(status for r in results for status in r["statuses"])
    assert statuses == {201: tasks, 200: 3 * tasks}  # each task stored once, three retries found it
    assert all(r["ids"] == results[0]["ids"] for r in results)  # every retry got the same id
    stored = live.stored_records(site.env)
    assert all(stored[i] == "api" for i in results[0]["ids"])
    assert len(set(results[0]["ids"])) == tasks


def test_a_real_server_answers_an_oversized_body_with_413(site):
    """6 MiB: more than socket buffers hold, so the client reads a 413 only because the server
    reads and drops the refused body instead of resetting the connection."""
    body = json.dumps({"task_type": "coding", "description": "x" * (6 * 1024 * 1024)}).encode()
    request = urllib.request.Request(
        f"{site.url}/api/records",
        data=body,
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=30)
    assert excinfo.value.code == 413
    assert list(json.loads(excinfo.value.read())["errors"]) == ["body"]


def test_record_task_reads_stdin_in_a_real_process(site):
    task = {"task_type": "documentation", "description": "Document the API", "duration": 90}
    out = live.manage(
        site.env, "record_task", "-", "--model", "GLM-4.6", input=json.dumps(task).encode()
    )
    [record_id] = out.split()
    assert live.stored_records(site.env)[record_id] == "cli"
