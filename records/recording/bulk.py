"""Fast bulk inserts for large writes (demo seeding, legacy import).

The ORM's ``bulk_create`` spends most of its time preparing values field by field; for hundreds of
thousands of rows that dominates. ``insert_records`` adapts values once per column and sends them
with ``executemany``, then links skills and agents by ``record_id`` (unique, indexed), so no
primary keys need to come back from the database.
"""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection, models

from records.models import RecordAgent, RecordSkill, TaskRecord

M = TypeVar("M", bound=models.Model)


class JsonText(str):
    """A value already serialised to JSON text (reused across rows without dumping it again)."""


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps makes one per call
_EMPTY_LIST = JsonText("[]")


def json_text(value: Any) -> JsonText:
    """``value`` serialised as every JSON column of a bulk insert stores it."""
    if type(value) is list and not value:  # issues and recommendations, most of the time
        return _EMPTY_LIST
    return JsonText(_ENCODE(value))


def _dump_json(value: Any) -> str:
    return value if isinstance(value, JsonText) else json_text(value)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one bulk write, and resume it afterwards (also
    on errors); nested or concurrent uses leave it to the outermost one that paused it.

    Validating and storing a list of 1,000 tasks allocates hundreds of thousands of short-lived
    objects, which triggered collections that traverse the whole heap of a Django process: about
    a fifth of the list's CPU in this process. Those objects hold no reference cycles (reference
    counting frees them), and the next collection after the list still finds any cycle.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _adapter(field: models.Field) -> str | None:
    """Which conversion a Python value needs to become this column's parameter, if any."""
    if isinstance(field, models.JSONField):
        return "json"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    return None


@functools.cache
def _insert_sql(
    model: type[models.Model], names: tuple[str, ...], ignore_conflicts: bool, vendor: str
) -> tuple[str, tuple[tuple[int, str], ...]]:
    """The INSERT statement for these fields of ``model`` and the conversions of its columns,
    built once per shape (``vendor`` keys the cache: quoting differs between databases)."""
    meta = model._meta
    columns = [meta.get_field(name) for name in names]
    conversions = tuple((i, kind) for i, field in enumerate(columns) if (kind := _adapter(field)))
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({}){}".format(
        qn(meta.db_table),
        ", ".join(qn(field.column) for field in columns),
        ", ".join(["%s"] * len(columns)),
        " ON CONFLICT DO NOTHING" if ignore_conflicts else "",
    )
    return sql, conversions


def _last_one(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``adapt``, remembering its last value: the rows of one write share their created_at (and
    often their recorded_at), and Django's datetime adaptation is costly per call."""
    last: list[Any] = [object(), None]

    def adapted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, adapt(value)
        return last[1]

    return adapted


def _prepare(
    model: type[models.Model], names: tuple[str, ...], ignore_conflicts: bool = False
) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
    """The statement and a function turning one row into its parameters, for this connection."""
    sql, conversions = _insert_sql(model, names, ignore_conflicts, connection.vendor)
    adapt_time = connection.ops.adapt_datetimefield_value
    converters = [
        (i, _dump_json if kind == "json" else _last_one(adapt_time))  # one memory per column
        for i, kind in conversions
    ]

    def params(row: dict[str, Any]) -> list[Any]:
        values = [row[name] for name in names]
        for i, adapt in converters:
            values[i] = adapt(values[i])
        return values

    return sql, params


def insert_rows(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """INSERT ``rows`` (dicts of field name to value, foreign keys as ids, all with the keys of
    the first) into ``model``'s table with one prepared statement (executemany).

    Only JSON and datetime columns are converted, once per value; ``ignore_conflicts`` skips rows
    that would break a unique constraint.
    """
    if not rows:
        return
    sql, params = _prepare(model, tuple(rows[0]), ignore_conflicts)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [params(row) for row in rows])


def native_placeholders(sql: str) -> str:
    """A statement's row part (``%s`` placeholders, no literal ``%``) as this connection runs it
    cheapest: on SQLite with ``?``, because Django turns each ``%s`` into ``?`` with a regular
    expression, which for the thousands of placeholders of a list of 1,000 tasks cost about 5 ms;
    a ``?`` it leaves alone. Unchanged while Django logs statements (DEBUG, or a test capturing
    queries), whose log fills the ``%s`` in."""
    if connection.vendor == "sqlite" and not connection.queries_logged:
        return sql.replace("%s", "?")
    return sql


MAX_PARAMS = 4_000  # per statement: far under SQLite's 32,766 variables; PostgreSQL plans it fast


def insert_values(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, returning: Sequence[str] = ()
) -> list[tuple]:
    """INSERT ``rows`` (as ``insert_rows``) with multi-row VALUES statements, as few as the
    parameter limits allow; with ``returning`` (column names), the rows' values of them.

    On PostgreSQL one statement of many rows costs a fraction of ``executemany`` (one round trip
    and one execution instead of one per row). Both databases return what RETURNING names (SQLite
    from 3.35), so no second query has to find the new primary keys.
    """
    if not rows:
        return []
    names = tuple(rows[0])
    one, params = _prepare(model, names)
    head, _, values = one.partition(" VALUES ")
    values = native_placeholders(values)
    per_statement = max(1, MAX_PARAMS // len(names))
    tail = ""
    if returning:
        qn = connection.ops.quote_name
        tail = " RETURNING " + ", ".join(qn(model._meta.get_field(c).column) for c in returning)
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = f"{head} VALUES {', '.join([values] * len(chunk))}{tail}"
            cursor.execute(sql, [value for row in chunk for value in params(row)])
            if returning:
                out += [tuple(found) for found in cursor.fetchall()]
    return out


def copy_rows(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, new_ids: bool = False
) -> list[int]:
    """PostgreSQL: the rows of ``insert_values`` with one ``COPY … FROM STDIN``, which the server
    reads without parsing or planning a statement per row. With ``new_ids`` the primary keys are
    drawn from the table's sequence first (in increasing order, as inserting would give them) and
    returned in row order."""
    if not rows:
        return []
    names = tuple(rows[0])
    _sql, params = _prepare(model, names)
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in names]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if new_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
            columns.insert(0, meta.pk.column)
        statement = f"COPY {qn(meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            if new_ids:
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row([pk, *params(row)])
            else:
                for row in rows:
                    copy.write_row(params(row))
    return ids


def insert_row(model: type[models.Model], row: dict[str, Any]) -> int:
    """INSERT one row (as ``insert_rows``) and return its new primary key.

    The per-record write path: a fraction of the CPU of ``Model.objects.create``, which compiles
    its statement and prepares every value through the field machinery on each call.
    """
    sql, params = _prepare(model, tuple(row))
    returning = connection.features.can_return_columns_from_insert
    if returning:
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params(row))
        return cursor.fetchone()[0] if returning else cursor.lastrowid


def create_row(model: type[M], row: dict[str, Any]) -> M:
    """``insert_row``, returning the stored object as ``Model.objects.create`` would."""
    obj = model(pk=insert_row(model, row), **row)
    obj._state.adding, obj._state.db = False, connection.alias
    return obj


RECORD_FIELDS = [
    field.name
    for field in TaskRecord._meta.concrete_fields
    # api_token: only the HTTP API writes it (one record at a time); bulk rows leave it empty.
    if not field.primary_key and field.name not in {"created_at", "api_token"}
] + ["created_at"]


def insert_records(
    records: Sequence[dict[str, Any]],
    *,
    skills: dict[str, Sequence[int]] | None = None,
    agents: dict[str, Sequence[int]] | None = None,
) -> None:
    """Insert TaskRecord rows given as dicts of every concrete field, and their skill/agent links.

    ``skills`` and ``agents`` map a record_id to the ids of its Skill/Agent rows. Call inside a
    transaction.
    """
    insert_rows(TaskRecord, [{name: r[name] for name in RECORD_FIELDS} for r in records])
    _link(RecordSkill, "skill", skills or {})
    _link(RecordAgent, "agent", agents or {})


def _link(through: type[models.Model], target: str, links: dict[str, Sequence[int]]) -> None:
    pairs = [(target_id, record_id) for record_id, ids in links.items() for target_id in ids]
    if not pairs:
        return
    qn = connection.ops.quote_name
    table = through._meta.db_table
    record_col = through._meta.get_field("record").column
    target_col = through._meta.get_field(target).column
    sql = (
        f"INSERT INTO {qn(table)} ({qn(record_col)}, {qn(target_col)}) "
        f"SELECT {qn('id')}, %s FROM {qn(TaskRecord._meta.db_table)} WHERE {qn('record_id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, pairs)
