"""Fast bulk inserts for large writes (demo seeding, legacy import).

The ORM's ``bulk_create`` spends most of its time preparing values field by field; for hundreds of
thousands of rows that dominates. ``insert_records`` adapts values once per column and sends them
with ``executemany``, then links skills and agents by ``record_id`` (unique, indexed), so no
primary keys need to come back from the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

from records.models import RecordAgent, RecordSkill, TaskRecord


class JsonText(str):
    """A value already serialised to JSON text (reused across rows without dumping it again)."""


def _dump_json(value: Any) -> str:
    return value if isinstance(value, JsonText) else json.dumps(value, ensure_ascii=False)


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    """How a Python value becomes a DB parameter for this column; None when it passes as is."""
    if isinstance(field, models.JSONField):
        return _dump_json
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    return None


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
    meta = model._meta
    names = list(rows[0])
    columns = [meta.get_field(name) for name in names]
    converters = [(i, adapt) for i, field in enumerate(columns) if (adapt := _adapter(field))]
    params = []
    for row in rows:
        values = [row[name] for name in names]
        for i, adapt in converters:
            values[i] = adapt(values[i])
        params.append(values)
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({}){}".format(
        qn(meta.db_table),
        ", ".join(qn(field.column) for field in columns),
        ", ".join(["%s"] * len(columns)),
        " ON CONFLICT DO NOTHING" if ignore_conflicts else "",
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


RECORD_FIELDS = [
    field.name
    for field in TaskRecord._meta.concrete_fields
    if not field.primary_key and field.name != "created_at"
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
