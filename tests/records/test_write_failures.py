"""Write failures a client can retry answer 503 with Retry-After, in time; the rest stay errors.

Real conditions where the database can make them: a write lock held by another connection (a
``BEGIN IMMEDIATE`` on the SQLite file, a ``LOCK TABLE`` on PostgreSQL) and a full SQLite file
(``PRAGMA max_page_count``). Errors that cannot be caused on demand here (PostgreSQL's disk full,
deadlock, serialization failure and lost connection, SQLite's I/O error) are raised by the
driver's own exception classes through Django's error wrapping, exactly as a real one arrives.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django import db
from django.conf import settings as django_settings
from django.db import connection

from records.models import ApiToken, TaskRecord
from records.recording import api, retry, services, tokens
from records.recording.openapi import openapi_document
from records.recording.tokens import token_create
from tests.records.test_openapi import assert_documented

URL = "/api/records"
TASK = {"task_type": "coding", "description": "Add the export button", "duration": 120}
ROOT = Path(__file__).resolve().parents[2]
BUDGET = 1.5  # PERFSITE_WRITE_TIMEOUT for these tests: short, and far below the 20 s lock wait
RELEASE_AFTER = 25  # the held lock is let go by then, so an unbounded wait cannot hang the suite


def post(client, token: str, body=TASK, **headers):
    return client.post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


@pytest.fixture
def short_budget(settings):
    settings.PERFSITE_WRITE_TIMEOUT = BUDGET


@contextmanager
def write_lock_held(*, release_after: float = RELEASE_AFTER) -> Iterator[None]:
    """Another connection holds the write lock of the test database: released on exit, or after
    ``release_after`` seconds (so an unbounded wait cannot hang the suite)."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        other = sqlite3.connect(params["NAME"], isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"],
            password=params["PASSWORD"],
            host=params["HOST"],
            port=params["PORT"] or None,
        )
        # Plain reads go on; every insert and update of these tables waits, as for SQLite.
        other.execute("LOCK TABLE records_taskrecord, records_apitoken IN EXCLUSIVE MODE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            other.rollback()
            other.close()

    timer = threading.Timer(release_after, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        release()


@contextmanager
def sqlite_full() -> Iterator[None]:
    """The test database cannot grow by one page: SQLite raises its real "database or disk is
    full" (SQLITE_FULL) on the next write that needs space."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")  # no free pages left inside the file to write into
        cursor.execute("PRAGMA max_page_count")
        (limit,) = cursor.fetchone()
        cursor.execute("PRAGMA page_count")
        (pages,) = cursor.fetchone()
        cursor.execute(f"PRAGMA max_page_count = {pages}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA max_page_count = {limit}")


def assert_503(response, kind: retry.Transient) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(kind.value)
    assert response.json() == {"errors": {"database": [api.MSG_DATABASE[kind]]}}


# --- real conditions ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_write_lock_held_past_the_budget_is_a_503_within_it(client, short_budget):
    _, token = token_create(name="agent")  # never used yet: this request writes last_used_at too
    with write_lock_held():
        started = time.monotonic()
        response = post(client, token, HTTP_IDEMPOTENCY_KEY="task-1")
        elapsed = time.monotonic() - started
    assert_503(response, retry.Transient.BUSY)
    # The last_used_at write gives up after its own short wait, the task's write after the budget;
    # neither waits the 20 s lock timeout, let alone twice.
    assert elapsed < tokens.MARK_USED_TIMEOUT + BUDGET + 2, elapsed
    assert not TaskRecord.objects.exists()
    assert ApiToken.objects.get().last_used_at is None

    again = post(client, token, HTTP_IDEMPOTENCY_KEY="task-1")  # the lock is free: the retry
    assert again.status_code == 201
    assert TaskRecord.objects.get().record_id == again.json()["record_id"]
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_lock_released_within_the_budget_is_waited_for(client, settings):
    settings.PERFSITE_WRITE_TIMEOUT = 10
    _, token = token_create(name="agent")
    with write_lock_held(release_after=1.0):
        started = time.monotonic()
        response = post(client, token)
    assert response.status_code == 201
    assert 0.9 < time.monotonic() - started < 10
    assert TaskRecord.objects.get().record_id == response.json()["record_id"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="SQLite's max_page_count; PostgreSQL's disk full is raised below",
)
def test_a_full_sqlite_database_is_a_503_and_stores_nothing(client):
    _, token = token_create(name="agent")
    post(client, token)  # last_used_at written, so the failing write is the task's own
    body = dict(TASK, description="x" * 20_000)  # needs new pages for the row and the payload
    with sqlite_full():
        response = post(client, token, body, HTTP_IDEMPOTENCY_KEY="big")
    assert_503(response, retry.Transient.FULL)
    assert TaskRecord.objects.count() == 1
    assert post(client, token, body, HTTP_IDEMPOTENCY_KEY="big").status_code == 201


# --- driver errors that cannot be caused here ---------------------------------------------------


def _sqlite_error(message: str, name: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorname = name
    return exc


TRANSIENT_ERRORS = [
    (psycopg.errors.DiskFull("could not extend file: No space left on device"), "FULL"),
    (psycopg.errors.SerializationFailure("could not serialize access"), "BUSY"),
    (psycopg.errors.DeadlockDetected("deadlock detected"), "BUSY"),
    (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), "BUSY"),
    (psycopg.errors.AdminShutdown("terminating connection"), "UNAVAILABLE"),
    (psycopg.OperationalError("server closed the connection"), "UNAVAILABLE"),
    (psycopg.InterfaceError("the connection is closed"), "UNAVAILABLE"),
    (_sqlite_error("disk I/O error", "SQLITE_IOERR_WRITE"), "UNAVAILABLE"),
    (_sqlite_error("database or disk is full", "SQLITE_FULL"), "FULL"),
    (_sqlite_error("database is locked", "SQLITE_BUSY"), "BUSY"),
]  # fmt: skip


def raise_as_django_would(error: Exception) -> None:
    """Raise a driver's error the way Django's DatabaseErrorWrapper does, on either backend: as
    the Django class of the same name (OperationalError, ...), caused by the driver's error."""
    for cls in type(error).__mro__:
        wrapper = getattr(db, cls.__name__, None)
        if isinstance(wrapper, type) and issubclass(wrapper, db.Error):
            raise wrapper(*error.args) from error
    raise AssertionError(f"not a DB-API error: {error!r}")


def fail_writes_with(monkeypatch, error: Exception, *, times: int | None = None) -> list[int]:
    """Every record insert raises ``error`` as the driver would (``times`` inserts, or all)."""
    calls: list[int] = []
    real = services.create_row

    def create_row(*args, **kwargs):
        calls.append(1)
        if times is None or len(calls) <= times:
            raise_as_django_would(error)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "create_row", create_row)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "kind"),
    TRANSIENT_ERRORS,
    ids=[f"{type(e).__name__}-{k}" for e, k in TRANSIENT_ERRORS],
)
def test_every_error_a_client_can_retry_is_a_503_naming_it(
    client, monkeypatch, short_budget, error, kind
):
    _, token = token_create(name="agent")
    fail_writes_with(monkeypatch, error)
    started = time.monotonic()
    response = post(client, token)
    assert time.monotonic() - started < BUDGET + 1
    assert_503(response, retry.Transient[kind])
    assert not TaskRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UndefinedTable('relation "records_taskrecord" does not exist'),
        _sqlite_error("no such table: records_taskrecord", "SQLITE_ERROR"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_an_error_retrying_cannot_fix_stays_a_server_error(client, monkeypatch, error):
    _, token = token_create(name="agent")
    fail_writes_with(monkeypatch, error)
    with pytest.raises(Exception) as excinfo:  # the test client re-raises what would be a 500
        post(client, token)
    assert excinfo.value.__cause__ is error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        _sqlite_error("database is locked", "SQLITE_BUSY"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_a_deadlock_or_lock_error_is_retried_at_once_and_the_task_stored(
    client, monkeypatch, error
):
    _, token = token_create(name="agent")
    calls = fail_writes_with(monkeypatch, error, times=2)
    response = post(client, token)
    assert response.status_code == 201
    assert len(calls) == 3
    assert TaskRecord.objects.get().record_id == response.json()["record_id"]


@pytest.mark.django_db
def test_a_database_that_cannot_be_reached_at_all_is_a_503(client, monkeypatch):
    _, token = token_create(name="agent")

    def unreachable(*args, **kwargs):
        raise_as_django_would(psycopg.OperationalError("connection failed: Connection refused"))

    monkeypatch.setattr(tokens.ApiToken.objects, "filter", unreachable)
    assert_503(post(client, token), retry.Transient.UNAVAILABLE)


# --- the time budget ----------------------------------------------------------------------------


def test_the_write_budget_ends_well_before_gunicorn_kills_the_worker():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "docs" / "recording.md").read_text()
    timeouts = {int(t) for t in re.findall(r"gunicorn .*--timeout (\d+)", makefile + readme)}
    assert timeouts, "the production gunicorn command should set --timeout"
    worst = tokens.MARK_USED_TIMEOUT + django_settings.PERFSITE_WRITE_TIMEOUT
    assert worst <= 0.6 * min(timeouts)
    # A single lock wait is shorter than the budget, so a write waits at least once in full.
    assert django_settings.DATABASE_LOCK_TIMEOUT < django_settings.PERFSITE_WRITE_TIMEOUT


@pytest.mark.django_db
def test_the_503_is_documented_in_the_openapi_document(client, monkeypatch, short_budget):
    _, token = token_create(name="agent")
    fail_writes_with(monkeypatch, psycopg.errors.DiskFull("No space left on device"))
    response = post(client, token)
    assert response.status_code == 503
    assert_documented(openapi_document(), "/api/records", "post", response)
