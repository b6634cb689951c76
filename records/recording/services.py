"""Writes. Every new record, from Python, HTTP, the CLI or the admin, goes through
``record_create``; every edit of one (the admin's change form) through ``record_update``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from records.models import Agent, AIModel, ApiToken, RecordAgent, RecordSkill, Skill, TaskRecord
from records.recording.bulk import create_row
from records.recording.retry import with_lock_retry  # re-exported: every writer uses it
from records.recording.schema import Task, json_safe_payload, stored_fields
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
    return f"{task_type}-{at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}"


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
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for through, column, ids in (
            (RecordSkill, "skill_id", skill_ids),
            (RecordAgent, "agent_id", agent_ids),
        ):
            if ids:
                cursor.executemany(
                    f"INSERT INTO {qn(through._meta.db_table)} "
                    f"({qn('record_id')}, {qn(column)}) VALUES (%s, %s)",
                    [(record.pk, pk) for pk in ids],
                )


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
