"""Full-text search over a record's description, task label and record id.

PostgreSQL: a GIN index on ``to_tsvector('simple', DOCUMENT)``; SQLite: an FTS5 table
(``records_taskrecord_fts``, external content: it stores only the index) that triggers on the
records table keep in step with every insert, update and delete, whichever door wrote them.

Both databases see the same words, so a search finds the same records on either:

- the document is the description, the label and the record id with every run of characters
  that is not a letter or a digit turned into a space (PostgreSQL's parser would otherwise keep
  ``records/services.py`` or ``4.6`` as one token where SQLite's splits them);
- no stemming and no stop words (PostgreSQL's ``simple`` configuration, FTS5's ``unicode61``
  with diacritics kept); case is ignored by both;
- the user's text is cut into the same letter-and-digit words in Python and every word must
  start a word of the record (``word:*`` / ``"word"*``, joined by AND). Quotes, operators
  (``OR``, ``NOT``, ``NEAR``, ``-``, ``*``, ``:``, ``&``) and any other punctuation are only
  separators: nothing the user types reaches the query syntax.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

MAX_SEARCH = 200  # characters of ``?q=``
MAX_WORDS = 12
MAX_WORD = 60  # longer words are cut: a prefix of them still finds the record

FTS_TABLE = "records_taskrecord_fts"
PG_INDEX = "record_search_idx"
# The words of a record, as PostgreSQL indexes them.
PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, regexp_replace("
    "description || ' ' || task_label || ' ' || record_id, '[^[:alnum:]]+', ' ', 'g'))"
)
# The record's UTC day as one more word of its indexed document: ``_d`` and the days since
# 2000-01-01. No search can find it (a search's words are letters and digits only, and this
# one starts with an underscore), but a query can ask for the matches of some days only, so
# that the GIN index yields only those (``row_matches``'s ``days``): otherwise it yields every
# match of the whole history, each of which must be visited to check its time (80,516 for
# ``fix crash`` at a million records, 49,541 pages, against 9,592 for its last 14 days).
PG_DAY_EPOCH = date(2000, 1, 1)
PG_DAY_WORD = (
    "array_to_tsvector(ARRAY['_d' || "
    f"((recorded_at AT TIME ZONE 'UTC')::date - DATE '{PG_DAY_EPOCH.isoformat()}')::text])"
)
# Kept character for character in the index and in the query, or PostgreSQL cannot use the index.
PG_INDEXED = f"({PG_DOCUMENT} || {PG_DAY_WORD})"
# A read asks for days only over a window this long or shorter (with the window before it):
# over longer ones, the days' lists of records in the index cost as much as they save
# (measured at a million records over 90 days: 2.5x faster for 7 days, no faster for 30).
PG_DAY_SPAN = timedelta(days=62)

_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> list[str]:
    """The words of a search, lower-cased: letters and digits only, at most MAX_WORDS."""
    words = []
    for word in _WORD.findall(text.lower()):
        word = word[:MAX_WORD]
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def matching_ids(text: str, *, between: tuple[int, int] | None = None) -> RawSQL:
    """A subquery of the ids of the records matching ``text`` (which must hold a word);
    ``between``: only the ids from the first to the last given (SQLite's index then skips the
    rest of each word's list of records)."""
    words = search_words(text)
    if not words:
        raise ValueError("A search needs at least one letter or digit.")
    bounds = "" if between is None else " AND {id} BETWEEN %s AND %s"
    extra = [] if between is None else list(between)
    if connection.vendor == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)
        sql = (
            f"SELECT id FROM records_taskrecord "
            f"WHERE {PG_INDEXED} @@ to_tsquery('simple'::regconfig, %s)" + bounds.format(id="id")
        )
        return RawSQL(sql, [query, *extra])
    query = " ".join(f'"{word}"*' for word in words)
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s" + bounds.format(id="rowid")
    return RawSQL(sql, [query, *extra])


def row_matches(
    text: str, *, indexed: bool = True, days: Sequence[tuple[datetime, datetime]] = ()
) -> RawSQL:
    """PostgreSQL: the condition that the record of the row matches ``text``, on the row itself
    (served by the GIN index), where ``pk IN matching_ids`` joins the table to itself and looks
    every match up again by id (twice the time for 80,000 matches). ``indexed`` False: the same
    test in a form the GIN index cannot serve (its document joined to an empty one), for a read
    that walks another index and checks each row. ``days``, (first, last) ranges: and the
    record's UTC day is one from a first's to its last's (``PG_DAY_WORD``), which the index
    answers too; the caller still checks the exact times."""
    if connection.vendor != "postgresql":
        raise ValueError("row_matches is for PostgreSQL; SQLite's index is a table of its own")
    query = " & ".join(f"{word}:*" for word in search_words(text))
    if not indexed:
        return RawSQL(
            f"({PG_DOCUMENT} || ''::tsvector) @@ to_tsquery('simple'::regconfig, %s)",
            [query],
            output_field=BooleanField(),
        )
    sql, params = f"{PG_INDEXED} @@ to_tsquery('simple'::regconfig, %s)", [query]
    if days:
        sql += f" AND {PG_INDEXED} @@ %s::tsquery"
        params.append(day_words(days))
    return RawSQL(sql, params, output_field=BooleanField())


def day_words(ranges: Sequence[tuple[datetime, datetime]]) -> str:
    """A tsquery of the ``PG_DAY_WORD`` of every UTC day from each range's first's to its
    last's."""
    days: set[int] = set()
    for first, last in ranges:
        start, end = (at.astimezone(UTC).date() - PG_DAY_EPOCH for at in (first, last))
        days.update(range(start.days, end.days + 1))
    return " | ".join(f"_d{day}" for day in sorted(days))


def matches_at_least(text: str, count: int) -> bool:
    """Whether ``count`` records or more match ``text``: counted from the index, stopping at
    ``count``, so a broad search costs no more than a narrow one."""
    found = matching_ids(text)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({found.sql} LIMIT %s) AS m", [*found.params, count])
        return cursor.fetchone()[0] >= count


def listed_ids(ids: Sequence[int]) -> RawSQL:
    """A subquery of the given record ids, as ONE parameter whatever their number (SQLite allows
    32,766 variables per statement): a PostgreSQL array, or a JSON array read by json_each on
    SQLite."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(list(ids))])


# --- The index: created by migration 0010, repaired after every migrate (SQLite) ---------------

_SQLITE_COLUMNS = "description, task_label, record_id"
_SQLITE_NEW = "new.description, new.task_label, new.record_id"
_SQLITE_OLD = "old.description, old.task_label, old.record_id"
SQLITE_TRIGGERS = {
    "records_taskrecord_fts_insert": (
        "AFTER INSERT ON records_taskrecord BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, {_SQLITE_COLUMNS}) VALUES (new.id, {_SQLITE_NEW}); END"
    ),
    "records_taskrecord_fts_delete": (
        "AFTER DELETE ON records_taskrecord BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_SQLITE_COLUMNS}) "
        f"VALUES ('delete', old.id, {_SQLITE_OLD}); END"
    ),
    "records_taskrecord_fts_update": (
        "AFTER UPDATE OF description, task_label, record_id ON records_taskrecord BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_SQLITE_COLUMNS}) "
        f"VALUES ('delete', old.id, {_SQLITE_OLD}); "
        f"INSERT INTO {FTS_TABLE}(rowid, {_SQLITE_COLUMNS}) VALUES (new.id, {_SQLITE_NEW}); END"
    ),
}


def create_index(conn: BaseDatabaseWrapper) -> None:
    """Create the search index of ``conn``'s database and fill it from the stored records."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON records_taskrecord "
                f"USING gin (({PG_INDEXED}))"
            )
        elif conn.vendor == "sqlite":
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                f"{_SQLITE_COLUMNS}, content='records_taskrecord', content_rowid='id', "
                "tokenize='unicode61 remove_diacritics 0')"
            )
            _create_triggers(cursor)
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def drop_index(conn: BaseDatabaseWrapper) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
        elif conn.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _create_triggers(cursor) -> None:
    for name, body in SQLITE_TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def repair_sqlite_index(conn: BaseDatabaseWrapper) -> bool:
    """Put back triggers a later migration dropped; True when it had to (and so rebuilt).

    Django's SQLite schema editor rebuilds a table for many changes (a new column with a
    default, an altered field) and the rebuild drops the table's triggers: after it, writes
    would no longer reach the search index. Run after every ``migrate`` (records.apps).
    """
    if conn.vendor != "sqlite":
        return False
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE %s",
            [f"{FTS_TABLE}%"],
        )
        found = {row[0] for row in cursor.fetchall()}
        if FTS_TABLE not in found or set(SQLITE_TRIGGERS) <= found:
            return False  # not migrated yet, or whole
        _create_triggers(cursor)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    return True
