"""POST /api/records through a real gunicorn in production settings (DJANGO_DEBUG=0).

What Django's test client cannot show: a chunked body as a real server hands it over, a held
write lock answered with a JSON 503 within the write budget (not a 500 page, not a worker killed
by gunicorn's timeout), and two tokens racing for one record_id. On a SQLite file always, and on
a fresh PostgreSQL database when DATABASE_URL points to PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from records.recording.api import MSG_DATABASE, MSG_RECORD_ID_TAKEN
from records.recording.ingest import MAX_BODY_BYTES
from records.recording.retry import Transient
from records.recording.tokens import MARK_USED_TIMEOUT
from tests.support import live

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WRITE_TIMEOUT = 3  # PERFSITE_WRITE_TIMEOUT of the server under test
TASK = {"task_type": "coding", "description": "Stream the export", "duration": 95}


@dataclass
class Site:
    env: dict[str, str]
    url: str
    token: str
    database: Path | str  # the SQLite file, or the PostgreSQL URL


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory) -> Iterator[Site]:
    server_url = os.environ.get("DATABASE_URL")
    if request.param == "postgresql" and not live.is_postgres(server_url):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    directory = tmp_path_factory.mktemp(f"gunicorn-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            env = live.sqlite_env(directory)
            database: Path | str = directory / "perfsite.sqlite3"
        else:
            env = stack.enter_context(live.postgres_database(server_url, suffix="http"))
            database = env["DATABASE_URL"]
        env = live.production_env(
            env, static_root=directory / "static", PERFSITE_WRITE_TIMEOUT=str(WRITE_TIMEOUT)
        )
        live.manage(env, "migrate", "--no-input")
        token = live.create_token(env)
        url = stack.enter_context(live.gunicorn(env, workers=2, log=directory / "gunicorn.log"))
        yield Site(env=env, url=url, token=token, database=database)


def post(site: Site, body: dict, *, token: str | None = None, **headers: str):
    """(status, headers, JSON body) of a POST with a Content-Length."""
    request = urllib.request.Request(
        f"{site.url}/api/records",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {token or site.token}",
            "Content-Type": "application/json",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def post_chunked(site: Site, chunks: Iterator[bytes]):
    """POST with Transfer-Encoding: chunked and no Content-Length (an iterable body)."""
    parts = urlsplit(site.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(
            "POST",
            "/api/records",
            body=chunks,
            headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, response.getheaders(), json.loads(response.read())
    finally:
        connection.close()


@contextmanager
def write_lock_held(site: Site, *, release_after: float = 50) -> Iterator[None]:
    """Another connection holds the site's write lock until the block ends (or
    ``release_after`` seconds have passed)."""
    if isinstance(site.database, Path):
        other = sqlite3.connect(site.database, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg.connect(site.database)
        other.execute("LOCK TABLE records_taskrecord, records_apitoken IN EXCLUSIVE MODE")
    timer = threading.Timer(release_after, other.rollback)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        other.rollback()
        other.close()


def test_a_chunked_body_is_read_and_stored(site):
    text = json.dumps(dict(TASK, record_id="chunked-1")).encode()
    status, _, body = post_chunked(site, iter([text[:7], text[7:30], text[30:]]))
    assert (status, body) == (201, {"record_id": "chunked-1"})
    assert live.stored_records(site.env)["chunked-1"] == "api"


def test_a_chunked_body_over_the_limit_is_a_413(site):
    chunk = b" " * (64 * 1024)
    status, _, body = post_chunked(site, iter([chunk] * (MAX_BODY_BYTES // len(chunk) + 2)))
    assert status == 413
    assert list(body["errors"]) == ["body"]


def test_a_held_write_lock_is_a_json_503_within_the_budget(site):
    with write_lock_held(site):
        started = time.monotonic()
        status, headers, body = post(site, TASK, **{"Idempotency-Key": "locked-1"})
        elapsed = time.monotonic() - started
    assert status == 503, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == str(Transient.BUSY.value)
    assert body == {"errors": {"database": [MSG_DATABASE[Transient.BUSY]]}}
    assert elapsed < MARK_USED_TIMEOUT + WRITE_TIMEOUT + 3, elapsed
    status, _, body = post(site, TASK, **{"Idempotency-Key": "locked-1"})  # the client's retry
    assert status == 201
    assert live.stored_records(site.env)[body["record_id"]] == "api"


def test_two_tokens_racing_for_one_record_id_store_one_record_and_get_a_409(site):
    tokens = [site.token, live.create_token(site.env, "second-host")]
    ids = [f"race-{n}" for n in range(20)]

    def attempt(args: tuple[str, str]) -> tuple[str, int, dict]:
        record_id, token = args
        status, _, body = post(site, dict(TASK, record_id=record_id), token=token)
        return record_id, status, body

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(attempt, [(i, t) for i in ids for t in tokens]))
    by_id: dict[str, list[int]] = {}
    for record_id, status, body in answers:
        by_id.setdefault(record_id, []).append(status)
        if status == 409:
            assert body == {"errors": {"record_id": [MSG_RECORD_ID_TAKEN]}}
    assert {record_id: sorted(s) for record_id, s in by_id.items()} == {i: [201, 409] for i in ids}
    stored = live.stored_records(site.env)
    assert all(stored[i] == "api" for i in ids)


def test_a_record_path_with_a_nul_is_a_404(site):
    status, _, _ = live.fetch(f"{site.url}/records/%00/")
    assert status == 404


def documented_client(document: str, after: str):
    """The ``record_task`` function of the first Python block after ``after`` in a document."""
    text = (ROOT / document).read_text()
    code = re.search(r"```python\n(.*?)```", text[text.index(after) :], re.S).group(1)
    namespace: dict = {}
    exec(compile(code.split("\n\nrecord_task(")[0], document, "exec"), namespace)
    return namespace["record_task"]


CLIENTS = [
    ("README.md", "**Python, standard library only**"),
    ("docs/recording.md", "Python, standard library only"),
]


@pytest.mark.parametrize(("document", "after"), CLIENTS, ids=[d for d, _ in CLIENTS])
def test_the_documented_client_retries_a_503_and_nothing_else(site, document, after):
    record_task = documented_client(document, after)
    ok = record_task(TASK, url=site.url, token=site.token)
    assert live.stored_records(site.env)[ok] == "api"

    # Held past the server's write budget: the first attempt is a 503, the retry is stored.
    with write_lock_held(site, release_after=WRITE_TIMEOUT + 1.5):
        started = time.monotonic()
        retried = record_task(dict(TASK, description="waited"), url=site.url, token=site.token)
        elapsed = time.monotonic() - started
    assert retried is not None and elapsed > WRITE_TIMEOUT
    assert live.stored_records(site.env)[retried] == "api"

    # A 409 and a 400 are final: answered at once, no retry (a retry would sleep 1 s first).
    other = live.create_token(site.env, f"other-{document}")
    taken = f"taken-{len(document)}"
    assert post(site, dict(TASK, record_id=taken), token=other)[0] == 201
    for task in (dict(TASK, record_id=taken), dict(TASK, duration=-1)):
        started = time.monotonic()
        assert record_task(task, url=site.url, token=site.token) is None
        assert time.monotonic() - started < 1
