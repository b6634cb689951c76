"""SQLite: the checkpoint after a list of tasks runs beside the requests, not inside one.

In WAL mode a commit appends the pages it changed to the ``-wal`` file, and the commit that takes
the log past 1,000 pages (``wal_autocheckpoint``) also copies the log back into the database
file: a checkpoint, with an fsync of both files. A list of 1,000 tasks changes about 2,300 pages
of a million-record database, most of them in the four sort indexes, whose new keys are spread
over the whole index; so every list paid for a checkpoint inside its own request (57 of its
219 ms in process; docs/benchmarks.md, "Lists of 1,000 tasks into a million records,
2026-12-04").

``atomic_checkpoint_later`` is a transaction whose commit does not checkpoint: the automatic
checkpoint is off on the writing connection for that one write. Once it has committed, this
process's checkpoint thread runs a FULL checkpoint on a connection of its own, while the client
reads its answer and the next list is parsed and validated (SQLite releases the GIL while it
copies and syncs). FULL, with no busy wait: when another writer is busy it copies what it can
without waiting, as PASSIVE does; otherwise it holds the write lock while it copies, so the next
writer, in any process, begins after the log is copied and starts it again from the beginning
instead of appending to it (with PASSIVE, writers that began meanwhile made the log grow by a
list's pages each time). A writer of this process waits for the thread before it begins.

Durability is unchanged: a transaction is in the WAL, synced as ``synchronous=NORMAL`` says,
before its commit returns, and a checkpoint only copies it; one cut short (the process killed)
is redone by the next. Every other commit keeps the automatic checkpoint, so if the thread is
behind, the next ordinary write checkpoints as it always did. PostgreSQL needs none of this:
there it is a plain ``transaction.atomic()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator

from django.db import connection, transaction

logger = logging.getLogger(__name__)
WAIT_FOR_CHECKPOINT = 2.0  # seconds; a checkpoint copies a list's pages in well under 0.2 s


class _Checkpointer:
    """One daemon thread per process that checkpoints the databases it is asked to, one request
    at a time; requests that arrive while it works are merged into its next round."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._wanted: set[str] = set()
        self._working = False
        self._thread: threading.Thread | None = None

    def request(self, path: str) -> None:
        with self._changed:
            self._wanted.add(path)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="perfsite-wal-checkpoint", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Whether every requested checkpoint has run within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._wanted and not self._working, timeout=timeout
            )

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted)
                paths, self._wanted, self._working = self._wanted, set(), True
            for path in paths:
                try:
                    checkpoint(path)
                except Exception:  # the next ordinary write's commit checkpoints instead
                    logger.warning("WAL checkpoint of %s failed", path, exc_info=True)
            with self._changed:
                self._working = False
                self._changed.notify_all()

    def forget(self) -> None:
        """In a forked child: the parent's thread and lock do not exist here."""
        self.__init__()


_checkpointer = _Checkpointer()
os.register_at_fork(after_in_child=_checkpointer.forget)


def checkpoint(path: str) -> tuple[int, int, int]:
    """One FULL checkpoint of the SQLite database at ``path`` on a connection of its own, without
    waiting for locks (busy timeout 0): (busy, pages in the log, pages copied), as ``PRAGMA
    wal_checkpoint`` answers."""
    with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as db:
        busy, log, copied = db.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
    return busy, log, copied


@contextlib.contextmanager
def atomic_checkpoint_later() -> Iterator[None]:
    """``transaction.atomic()`` for one large write; on SQLite without the automatic checkpoint
    in its commit, and with a checkpoint in the background once it has committed.

    Inside a caller's transaction the setting is restored before that transaction commits, so
    the commit checkpoints as usual; the thread is only asked once something has committed.
    """
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    path = str(connection.settings_dict["NAME"])
    # The previous list's checkpoint (this process's) holds the write lock while it copies;
    # waiting for it here is cheaper than SQLite's busy handler, which sleeps in steps.
    _checkpointer.wait_idle(WAIT_FOR_CHECKPOINT)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (pages,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: checkpoint_soon(path))
            yield
    finally:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")


def checkpoint_soon(path: str) -> None:
    """Ask this process's checkpoint thread (started if need be) to checkpoint ``path``."""
    _checkpointer.request(path)


def settle(timeout: float = 10.0) -> bool:
    """Wait until this process's background checkpoints have run; whether they did in time."""
    return _checkpointer.wait_idle(timeout)
