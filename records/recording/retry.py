"""Write failures a client can retry: which database errors they are, and a bounded retry loop.

A write can fail for reasons that have nothing to do with the task: another writer holds the lock
past the wait, PostgreSQL picked the transaction as a deadlock or serialization victim, the disk
is full, an I/O error, a dropped connection. The HTTP API answers those with 503 and
``Retry-After`` (``transient_kind`` decides which errors they are), and ``with_lock_retry`` retries
the ones worth retrying at once (lock waits, deadlocks) inside a time budget that ends well
before gunicorn's worker timeout, so a client always gets an answer it can act on.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 8  # besides the time budget: a lock error that comes back at once is not waited on
FIRST_DELAY = 0.05  # seconds; doubled on every retry, with jitter


class Transient(enum.Enum):
    """Why a write failed for a while, not for good; the value is the Retry-After in seconds."""

    BUSY = 1  # a lock held past the wait, a deadlock or serialization failure: retry soon
    UNAVAILABLE = 5  # an I/O error, a lost connection, a server shutting down
    FULL = 30  # no disk space left: someone has to free some


# SQLite primary result codes (Python 3.11+ names them on the exception as sqlite_errorname,
# e.g. SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE).
_SQLITE = {
    "SQLITE_BUSY": Transient.BUSY,
    "SQLITE_LOCKED": Transient.BUSY,
    "SQLITE_FULL": Transient.FULL,
    "SQLITE_IOERR": Transient.UNAVAILABLE,
    "SQLITE_CANTOPEN": Transient.UNAVAILABLE,
    "SQLITE_NOMEM": Transient.UNAVAILABLE,
    "SQLITE_PROTOCOL": Transient.UNAVAILABLE,
}
# PostgreSQL SQLSTATEs, most specific first: 40 = transaction rollback (serialization failure,
# deadlock), 55P03 = lock_not_available (our lock_timeout), 57014 = query_canceled,
# 53100 = disk_full, 53 = other insufficient resources, 08 = connection exceptions,
# 57P = server shutting down or restarting, 58 = system (I/O) errors.
_SQLSTATE = (
    ("40", Transient.BUSY),
    ("55P03", Transient.BUSY),
    ("57014", Transient.BUSY),
    ("53100", Transient.FULL),
    ("53", Transient.UNAVAILABLE),
    ("08", Transient.UNAVAILABLE),
    ("57P", Transient.UNAVAILABLE),
    ("58", Transient.UNAVAILABLE),
)
# Only for errors that carry no code (made by hand, or a driver without codes): the messages.
_MESSAGES = (
    ("locked", Transient.BUSY),
    ("database or disk is full", Transient.FULL),
    ("disk i/o error", Transient.UNAVAILABLE),
    ("unable to open database file", Transient.UNAVAILABLE),
)


def transient_kind(exc: BaseException) -> Transient | None:
    """How a database error can be retried, or None when retrying would not help (a bug, a
    missing table, a constraint): those stay 500s and show up in the logs."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    cause = exc.__cause__
    name = getattr(cause, "sqlite_errorname", None)
    if isinstance(name, str):
        return next((kind for code, kind in _SQLITE.items() if name.startswith(code)), None)
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str):
        return next((kind for prefix, kind in _SQLSTATE if sqlstate.startswith(prefix)), None)
    if type(cause).__module__.startswith("psycopg"):
        # psycopg raises OperationalError without a SQLSTATE when it cannot reach the server or
        # the connection broke, InterfaceError when it is closed.
        return Transient.UNAVAILABLE
    if isinstance(exc, InterfaceError):
        return Transient.UNAVAILABLE
    message = str(exc).lower()
    return next((kind for text, kind in _MESSAGES if text in message), None)


def write_timeout() -> float:
    """Seconds one write may spend waiting for locks and retrying, in all (settings)."""
    return float(settings.PERFSITE_WRITE_TIMEOUT)


@contextlib.contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Wait at most ``seconds`` for another writer's lock in the statements inside.

    SQLite waits up to its busy timeout and PostgreSQL up to its lock_timeout (both
    ``settings.DATABASE_LOCK_TIMEOUT``) before a lock error; near the end of a write's budget the
    wait is shortened to what is left, so retries never stack waits past it.
    """
    configured = float(settings.DATABASE_LOCK_TIMEOUT)
    if seconds >= configured or connection.vendor not in {"sqlite", "postgresql"}:
        yield
        return
    milliseconds = max(1, int(seconds * 1000))
    if connection.vendor == "sqlite":
        set_sql, reset_sql = "PRAGMA busy_timeout = %d", "PRAGMA busy_timeout = %d"
    else:
        set_sql, reset_sql = "SET lock_timeout = %d", "SET lock_timeout = %d"
    with connection.cursor() as cursor:
        cursor.execute(set_sql % milliseconds)
    try:
        yield
    finally:
        # A broken connection cannot be reset, and is closed at the end of the request anyway;
        # an aborted PostgreSQL transaction drops the SET when it rolls back.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(reset_sql % int(configured * 1000))


def with_lock_retry(fn: Callable[[], T], *, timeout: float | None = None) -> T:
    """Run ``fn`` (one transaction), retrying lock errors, deadlocks and serialization failures.

    Bounded in time, not only in count: all attempts, their lock waits and the pauses between
    them end within ``timeout`` seconds (default ``settings.PERFSITE_WRITE_TIMEOUT``), and the
    last error is raised then. WAL, the busy timeout and IMMEDIATE transactions make retries rare;
    they cover a burst of writers or a lock someone holds for long (a backup, a long import).
    """
    deadline = time.monotonic() + (write_timeout() if timeout is None else timeout)
    for attempt in range(MAX_ATTEMPTS):
        try:
            with lock_wait(deadline - time.monotonic()):
                return fn()
        except (OperationalError, InterfaceError) as exc:
            if transient_kind(exc) is not Transient.BUSY or attempt == MAX_ATTEMPTS - 1:
                raise
            delay = FIRST_DELAY * (2**attempt) * (1 + random.random())
            left = deadline - time.monotonic()
            if left < delay + FIRST_DELAY:  # no time to wait for the lock once more
                raise
            logger.warning("%s; retrying in %.2fs", exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
