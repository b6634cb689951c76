"""Writes. Every new record, from Python, HTTP, the CLI or the admin, goes through
``record_create`` (one task) or ``records_create_many`` (a list of them: the HTTP API's and
``record_task``'s batches); every edit of one (the admin's change form) through
``record_update``."""

from __future__ import annotations

import bisect
import dataclasses
import enum
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from records.models import Agent, AIModel, ApiToken, RecordAgent, RecordSkill, Skill, TaskRecord
from records.recording.bulk import copy_rows, create_row, insert_values, json_text
from records.recording.retry import with_lock_retry  # re-exported: every writer uses it
from records.recording.schema import Task, json_safe_payload, stored_fields
from records.recording.wal import atomic_checkpoint_later
from records.rules.names import default_model_name
from records.rules.scoring import BASELINE_WINDOW, quality_improvement
from records.stats.rollups import FACT_FIELDS, Facts, apply_rollups, facts_for

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RecordIdTaken(Exception):
    """The record_id is stored already, written by another API token or another door."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(f"record_id {record_id!r} belongs to another client")


def _retry_finds(existing: TaskRecord, token: ApiToken | None) -> TaskRecord:
    """The stored record a retry gets back, if the same token wrote it (any, for local doors)."""
    if token is not None and existing.api_token_id != token.pk:
        raise RecordIdTaken(existing.record_id)
    return existing


def new_record_id(task_type: str, at: datetime) -> str:
    """Readable and unique: type and time for people, 48 random bits so the clock never decides."""
    return f"{task_type}-{at:%Y%m%d-%H%M%S}-{secrets.token_hex(6)}"


def names_to_objects(model_cls: type[T], names: Iterable[str]) -> dict[str, T]:
    """Fetch-or-create named rows (models, skills, agents) in at most three queries."""
    wanted = set(names)
    if not wanted:
        return {}
    found = {obj.name: obj for obj in model_cls.objects.filter(name__in=wanted)}
    missing = wanted - found.keys()
    if missing:
        model_cls.objects.bulk_create(
            [model_cls(name=name) for name in sorted(missing)], ignore_conflicts=True
        )
        found.update({obj.name: obj for obj in model_cls.objects.filter(name__in=missing)})
    return found


def baseline_scores(task_type: str, before: datetime, *, exclude: int | None = None) -> list[float]:
    """Quality of the previous (up to) 10 records of a type: one indexed query, any history size.

    Plain SQL on ``record_type_time_idx``: this runs once per recorded task, and building the
    ORM query cost more than running it. ``exclude`` leaves out one record (by primary key): an
    edited record moved later in time is not part of its own baseline.
    """
    qn = connection.ops.quote_name
    params: list[Any] = [task_type, connection.ops.adapt_datetimefield_value(before)]
    skip = ""
    if exclude is not None:
        skip = f"AND {qn('id')} <> %s "
        params.append(exclude)
    sql = (
        f"SELECT {qn('quality_score')} FROM {qn(TaskRecord._meta.db_table)} "
        f"WHERE {qn('task_type')} = %s AND {qn('recorded_at')} < %s {skip}"
        f"ORDER BY {qn('recorded_at')} DESC, {qn('id')} DESC LIMIT {BASELINE_WINDOW}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


_NAMED = {"model": AIModel, "skill": Skill, "agent": Agent}


def name_ids(**names: Iterable[str]) -> dict[str, dict[str, int]]:
    """Ids of named rows by kind (model, skill, agent), creating the missing ones.

    ``name_ids(model=["GLM 4.6"], skill=[...], agent=[...])`` -> ``{"model": {"GLM 4.6": 3},
    ...}``. One query when every name is already stored (the usual case): a UNION over the three
    tables, read fresh every time (no cache, so a renamed or deleted row is never used).
    """
    wanted = {kind: sorted(set(values)) for kind, values in names.items()}
    found: dict[str, dict[str, int]] = {kind: {} for kind in wanted}
    qn = connection.ops.quote_name
    parts, params = [], []
    for kind, values in wanted.items():
        if values:
            table = qn(_NAMED[kind]._meta.db_table)
            parts.append(
                f"SELECT %s, {qn('id')}, {qn('name')} FROM {table} "
                f"WHERE {qn('name')} IN ({', '.join(['%s'] * len(values))})"
            )
            params += [kind, *values]
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for kind, pk, name in cursor.fetchall():
                found[kind][name] = pk
    for kind, values in wanted.items():
        missing = set(values) - found[kind].keys()
        if missing:
            created = names_to_objects(_NAMED[kind], missing)
            found[kind].update({name: obj.pk for name, obj in created.items()})
    return found


def _task_columns(
    task: Task, *, recorded_at: datetime, model_id: int, exclude: int | None = None
) -> dict[str, Any]:
    """The stored columns a validated task determines: one definition for create and update.

    ``stored_fields`` (the schema) classifies and scores; the improvement, when not given, is the
    baseline rule, so call this inside the write's transaction. ``exclude`` is the record being
    updated, which is not its own baseline.
    """
    columns = stored_fields(task, auto_default=True)
    improvement = task.quality_improvement
    if improvement is None:
        baseline = baseline_scores(columns["task_type"], recorded_at, exclude=exclude)
        improvement = quality_improvement(columns["quality_score"], baseline)
    return {
        "recorded_at": recorded_at,
        **columns,
        "model_id": model_id,
        "quality_improvement": improvement,
    }


def record_create(
    *,
    task: Task,
    source: str,
    payload: Any,
    now: datetime | None = None,
    token: ApiToken | None = None,
) -> tuple[TaskRecord, bool]:
    """Store one validated task; returns (record, created).

    A task carrying a ``record_id`` that is already stored returns that record unchanged, so a
    client's retry never makes a duplicate. With ``token`` (the HTTP API), record ids are scoped
    to it: the record is stored with the token, and an id stored by another token or another
    door raises RecordIdTaken (nothing is written).
    """
    raw_payload = json_safe_payload(payload)
    recorded_at = task.recorded_at or now or timezone.now()
    model_name = task.model or default_model_name()
    skills, agents = task.skills or [], task.agents or []

    def write() -> tuple[TaskRecord, bool]:
        with transaction.atomic():
            if task.record_id:
                existing = TaskRecord.objects.filter(record_id=task.record_id).first()
                if existing is not None:
                    return _retry_finds(existing, token), False
            ids = name_ids(model=[model_name], skill=skills, agent=agents)
            columns = _task_columns(
                task, recorded_at=recorded_at, model_id=ids["model"][model_name]
            )
            row = {
                "record_id": task.record_id or new_record_id(columns["task_type"], recorded_at),
                **columns,
                "source": source,
                "raw": [{"source": source, "payload": raw_payload}],
                "created_at": timezone.now(),
                "api_token_id": token.pk if token is not None else None,
            }
            record = create_row(TaskRecord, row)
            skill_ids = [ids["skill"][name] for name in skills]
            agent_ids = [ids["agent"][name] for name in agents]
            link_names(record, skill_ids=skill_ids, agent_ids=agent_ids)
            apply_rollups([Facts.of(record, skill_ids, agent_ids)])
            return record, True

    try:
        return with_lock_retry(write)
    except IntegrityError:
        # Two clients raced with the same record_id: the loser gets the winner's record.
        if task.record_id:
            existing = TaskRecord.objects.filter(record_id=task.record_id).first()
            if existing is not None:
                return _retry_finds(existing, token), False
        raise


def link_names(record: TaskRecord, *, skill_ids: list[int], agent_ids: list[int]) -> None:
    """Insert a new record's skill and agent links (one statement per non-empty kind)."""
    insert_links(
        skills=[(record.pk, pk) for pk in skill_ids], agents=[(record.pk, pk) for pk in agent_ids]
    )


def insert_links(*, skills: list[tuple[int, int]], agents: list[tuple[int, int]]) -> None:
    """Insert (record pk, skill pk) and (record pk, agent pk) links, one statement per kind."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for through, column, pairs in (
            (RecordSkill, "skill_id", skills),
            (RecordAgent, "agent_id", agents),
        ):
            if pairs:
                cursor.executemany(
                    f"INSERT INTO {qn(through._meta.db_table)} "
                    f"({qn('record_id')}, {qn(column)}) VALUES (%s, %s)",
                    pairs,
                )


# --- many tasks at once ------------------------------------------------------------------------

# Ids per IN list and subqueries per UNION statement: well inside SQLite's limits (500 terms in
# a compound SELECT, 32,766 parameters) and PostgreSQL's.
CHUNK = 250
INTEGRITY_ATTEMPTS = 3
_AFTER_STORED = 1 << 62  # orders a batch's new rows after every stored id, as inserting does
# What a new row gives the rollups: every field of Facts but the links, read from the row itself,
# so a fact the rollups gain is never left out here.
_FACT_COLUMNS = [
    f.name for f in dataclasses.fields(Facts) if f.name not in {"skill_ids", "agent_ids", "advised"}
]


class Outcome(enum.Enum):
    """What ``records_create_many`` did with one task."""

    CREATED = "created"
    STORED = "stored"  # its record_id was stored already by this client (or earlier in the list)
    TAKEN = "taken"  # its record_id is stored by another API token or another door: not stored


@dataclass(frozen=True)
class Created:
    record_id: str
    outcome: Outcome


def records_create_many(
    *,
    items: Sequence[tuple[Task, Any]],
    source: str,
    token: ApiToken | None = None,
    now: datetime | None = None,
) -> list[Created]:
    """Store validated tasks, each with its payload as ``schema.json_safe_payload`` returned it,
    in one transaction; one result per item, in order.

    The same records ``record_create`` makes one call per task, in list order — same columns,
    same scores, the same ``quality_improvement`` (each task's baseline holds the stored records
    and the list's earlier ones) — with a fixed number of statements for the whole list: one
    look-up of the given record ids, one for names, a baseline query per 250 distinct (type,
    time) pairs, one multi-row insert per table and one ``apply_rollups``. A record_id already
    stored is a retry (``Outcome.STORED``, nothing written), or ``Outcome.TAKEN`` when another
    token or door stored it (``token`` given: the HTTP API); a record_id given twice in the list
    is stored once. A task without ``recorded_at`` is recorded at ``now`` (default: the time of
    the call).
    """
    tasks = [task for task, _ in items]
    at = now or timezone.now()
    # What needs no stored data is worked out before the write lock is taken, so a list holds
    # it for less time (and, on SQLite, the previous list's checkpoint runs meanwhile).
    prepared = [_prepared_columns(task, payload, source=source, now=at) for task, payload in items]

    def write() -> list[Created]:
        with atomic_checkpoint_later():  # SQLite: the list's checkpoint is not in its request
            return _create_many(tasks, prepared, token=token)

    for attempt in range(INTEGRITY_ATTEMPTS):
        try:
            return with_lock_retry(write)
        except IntegrityError:
            # PostgreSQL: another client committed one of these record_ids while this list was
            # being written. Nothing of this attempt is stored; the next one finds the id taken.
            if attempt == INTEGRITY_ATTEMPTS - 1 or not any(t.record_id for t in tasks):
                raise
    raise AssertionError("unreachable")


# The model's JSON columns (raw among them, which _prepared_columns sets itself).
_JSON_COLUMNS = frozenset(
    field.name for field in TaskRecord._meta.concrete_fields if isinstance(field, JSONField)
)


def _prepared_columns(task: Task, payload: Any, *, source: str, now: datetime) -> dict[str, Any]:
    """A new row's columns that depend on the task alone (``stored_fields``), with its JSON
    columns serialised already: everything but the model, the improvement and the ids."""
    columns = stored_fields(task, auto_default=True)
    for name in _JSON_COLUMNS & columns.keys():
        columns[name] = json_text(columns[name])
    return {
        "recorded_at": task.recorded_at or now,
        **columns,
        "source": source,
        "raw": json_text([{"source": source, "payload": payload}]),
    }


def _create_many(
    tasks: Sequence[Task], prepared: Sequence[dict[str, Any]], *, token: ApiToken | None
) -> list[Created]:
    results: list[Created | None] = [None] * len(tasks)
    owners = _stored_owners([t.record_id for t in tasks if t.record_id])
    fresh: list[int] = []
    claimed: set[str] = set()
    for index, task in enumerate(tasks):
        record_id = task.record_id
        if record_id is None:
            fresh.append(index)
        elif record_id in owners:
            mine = token is None or owners[record_id] == token.pk
            results[index] = Created(record_id, Outcome.STORED if mine else Outcome.TAKEN)
        elif record_id in claimed:  # the same id twice in one list: the second is a retry
            results[index] = Created(record_id, Outcome.STORED)
        else:
            claimed.add(record_id)
            fresh.append(index)
    if not fresh:
        return results  # type: ignore[return-value]

    new = [tasks[index] for index in fresh]
    default_model = default_model_name()
    model_names = [task.model or default_model for task in new]
    ids = name_ids(
        model=model_names,
        skill=[name for task in new for name in task.skills or []],
        agent=[name for task in new for name in task.agents or []],
    )
    rows = [
        {**prepared[index], "model_id": ids["model"][model_name]}
        for index, model_name in zip(fresh, model_names, strict=True)
    ]
    improvements = _improvements(rows, [task.quality_improvement for task in new])
    created_at = timezone.now()
    api_token_id = token.pk if token is not None else None
    for index, task, row, improvement in zip(fresh, new, rows, improvements, strict=True):
        record_id = task.record_id or new_record_id(row["task_type"], row["recorded_at"])
        row.update(
            record_id=record_id,
            quality_improvement=improvement,
            created_at=created_at,
            api_token_id=api_token_id,
        )
        results[index] = Created(record_id, Outcome.CREATED)
    if connection.vendor == "postgresql":
        new_pks = copy_rows(TaskRecord, rows, new_ids=True)
        pks = {row["record_id"]: pk for row, pk in zip(rows, new_pks, strict=True)}
    elif connection.features.can_return_rows_from_bulk_insert:
        pks = dict(insert_values(TaskRecord, rows, returning=("record_id", "id")))
    else:  # SQLite before 3.35
        insert_values(TaskRecord, rows)
        pks = _record_pks([row["record_id"] for row in rows])
    skill_links, agent_links, facts = [], [], []
    for task, row in zip(new, rows, strict=True):
        pk = pks[row["record_id"]]
        skill_ids = [ids["skill"][name] for name in task.skills or []]
        agent_ids = [ids["agent"][name] for name in task.agents or []]
        skill_links += [(pk, skill) for skill in skill_ids]
        agent_links += [(pk, agent) for agent in agent_ids]
        facts.append(
            Facts(
                **{name: row[name] for name in _FACT_COLUMNS},
                advised=bool(row["advice"]),
                skill_ids=tuple(skill_ids),
                agent_ids=tuple(agent_ids),
            )
        )
    for through, column, pairs in (
        (RecordSkill, "skill_id", skill_links),
        (RecordAgent, "agent_id", agent_links),
    ):
        links = [{"record_id": pk, column: target} for pk, target in pairs]
        (copy_rows if connection.vendor == "postgresql" else insert_values)(through, links)
    apply_rollups(facts)
    return results  # type: ignore[return-value]


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    return (values[start : start + CHUNK] for start in range(0, len(values), CHUNK))


def _stored_owners(record_ids: list[str]) -> dict[str, int | None]:
    """{record_id: api_token_id} of the ids that are stored already."""
    found: dict[str, int | None] = {}
    for chunk in _chunks(sorted(set(record_ids))):
        rows = TaskRecord.objects.filter(record_id__in=chunk).values_list("record_id", "api_token")
        found.update(rows)
    return found


def _record_pks(record_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(record_ids):
        found.update(TaskRecord.objects.filter(record_id__in=chunk).values_list("record_id", "id"))
    return found


def _improvements(rows: list[dict[str, Any]], given: list[float | None]) -> list[float | None]:
    """Each new row's quality_improvement as ``record_create`` would set it, one row after another:
    the given value, else its score minus the mean of the previous (up to) 10 records of its type
    by (recorded_at, id) — stored records and the earlier rows of the list alike."""
    stored = _baselines(
        {
            (row["task_type"], row["recorded_at"])
            for row, value in zip(rows, given, strict=True)
            if value is None
        }
    )
    earlier: dict[str, list[tuple[datetime, int, float]]] = defaultdict(list)
    out: list[float | None] = []
    for index, (row, value) in enumerate(zip(rows, given, strict=True)):
        task_type, at = row["task_type"], row["recorded_at"]
        mine = earlier[task_type]  # this list's rows of the type so far, by (time, position)
        if value is None:
            cut = bisect.bisect_left(mine, (at,))  # the rows strictly before ``at``
            listed = [
                (t, _AFTER_STORED + i, q) for t, i, q in mine[max(0, cut - BASELINE_WINDOW) : cut]
            ]
            window = sorted([*stored[(task_type, at)], *listed], reverse=True)[:BASELINE_WINDOW]
            value = quality_improvement(row["quality_score"], [q for _, _, q in window])
        out.append(value)
        bisect.insort(mine, (at, index, row["quality_score"]))
    return out


def _baselines(
    keys: set[tuple[str, datetime]],
) -> dict[tuple[str, datetime], list[tuple[datetime, int, float]]]:
    """For each (task type, time): the (up to) 10 stored records of that type before that time, as
    (recorded_at, id, quality_score). ``baseline_scores``' indexed query, many in one statement."""
    qn = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    table = qn(TaskRecord._meta.db_table)
    columns = ", ".join(qn(c) for c in ("recorded_at", "id", "quality_score"))
    order = f"ORDER BY {qn('recorded_at')} DESC, {qn('id')} DESC LIMIT {BASELINE_WINDOW}"
    found: dict[tuple[str, datetime], list[tuple[datetime, int, float]]] = {key: [] for key in keys}
    for chunk in _chunks(sorted(keys)):
        parts = [
            f"SELECT * FROM (SELECT {n} AS k, {columns} FROM {table} WHERE {qn('task_type')} = %s "
            f"AND {qn('recorded_at')} < %s {order}) AS b{n}"
            for n in range(len(chunk))
        ]
        params = [value for task_type, at in chunk for value in (task_type, adapt(at))]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for n, recorded_at, pk, score in cursor.fetchall():
                found[chunk[n]].append((_aware(recorded_at), pk, score))
    return found


def _aware(value: datetime | str) -> datetime:
    """A datetime column read by a raw cursor (SQLite gives text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def records_delete(records: QuerySet[TaskRecord]) -> int:
    """Delete records and take them out of the rollups, in one transaction."""

    def delete() -> int:
        with transaction.atomic():
            doomed = list(records.select_for_update().only(*FACT_FIELDS))
            apply_rollups(facts_for(doomed), sign=-1)
            TaskRecord.objects.filter(pk__in=[r.pk for r in doomed]).delete()
            return len(doomed)

    return with_lock_retry(delete)


MSG_RECORD_ID_FIXED = "A stored record keeps its record_id."


def record_update(
    *,
    record: TaskRecord,
    task: Task,
    source: str,
    payload: Any,
) -> TaskRecord:
    """Replace a stored record's task data with ``task``, re-deriving what ``record_create`` does.

    Type, scores, model and baseline improvement are derived as for a new record; the skill and
    agent links are replaced. In one transaction the record's old facts leave the rollups and its
    new ones enter them, so the rollups stay equal to a rebuild. ``record_id``, ``source``,
    ``created_at`` and the raw payloads are kept; ``{"source": source, "payload": payload}`` is
    appended to ``raw`` so the edit can be traced (``source`` names the editor, e.g. "admin").
    Returns the stored record as it now is.
    """
    if task.record_id is not None and task.record_id != record.record_id:
        raise ValidationError({"record_id": [MSG_RECORD_ID_FIXED]})
    raw_payload = json_safe_payload(payload)
    model_name = task.model or default_model_name()
    skills, agents = task.skills or [], task.agents or []

    def write() -> TaskRecord:
        with transaction.atomic():
            # Locked and read afresh: the old facts must be what the rollups counted, not what
            # the caller's (possibly stale) instance says.
            stored = TaskRecord.objects.select_for_update().get(pk=record.pk)
            old_facts = facts_for([stored])
            ids = name_ids(model=[model_name], skill=skills, agent=agents)
            columns = _task_columns(
                task,
                recorded_at=task.recorded_at or stored.recorded_at,
                model_id=ids["model"][model_name],
                exclude=stored.pk,
            )
            for name, value in columns.items():
                setattr(stored, name, value)
            stored.raw = [*(stored.raw or []), {"source": source, "payload": raw_payload}]
            stored.save(update_fields=[*columns, "raw"])
            RecordSkill.objects.filter(record=stored).delete()
            RecordAgent.objects.filter(record=stored).delete()
            skill_ids = [ids["skill"][name] for name in skills]
            agent_ids = [ids["agent"][name] for name in agents]
            link_names(stored, skill_ids=skill_ids, agent_ids=agent_ids)
            apply_rollups(old_facts, sign=-1)
            apply_rollups([Facts.of(stored, skill_ids, agent_ids)])
            return stored

    return with_lock_retry(write)
