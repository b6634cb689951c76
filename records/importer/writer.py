"""The importer's writes. ``apply_batch`` is the ONE function that writes imported records.

It takes normalised tasks (any number of them sharing an identity), looks the identities up with
one query, merges, and writes with bulk inserts and updates inside one transaction. Hook anything
that must follow record writes into ``apply_batch`` (it keeps the rollups in step, in the same
transaction; its ``on_write`` lets the import run note, in that transaction too, what it must
recompute); the only other write is ``refresh_quality_improvements``, which afterwards re-derives
the baseline-based ``quality_improvement`` of imported records that did not give one.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone

from records.importer.merge import (
    Draft,
    draft_from_record,
    draft_from_task,
    fill_gaps,
    finalise,
    model_name,
)
from records.importer.normalise import LegacyTask
from records.importer.restore import ExportedRecord
from records.models import Agent, AIModel, RecordAgent, RecordSkill, Skill, TaskRecord
from records.recording.bulk import insert_rows
from records.recording.services import names_to_objects, with_lock_retry
from records.rules.scoring import BASELINE_WINDOW, quality_improvement
from records.stats.exports import rows_for
from records.stats.rollups import FACT_FIELDS, apply_rollups, facts_for

logger = logging.getLogger(__name__)

Outcome = Literal["created", "merged", "skipped", "failed"]
INTEGRITY_RETRIES = 3
REFRESH_CHUNK = 1_000
REFRESH_PROGRESS = 5_000
MSG_NO_TIMESTAMP = "timestamp: missing, and no other source of this record gives one"
MSG_DIFFERS = (
    "already stored with different values; the stored record is kept as it is "
    "(delete it first to restore the exported one)"
)


@dataclass
class ItemOutcome:
    task: LegacyTask | ExportedRecord
    outcome: Outcome
    reason: str = ""


@dataclass
class BatchResult:
    outcomes: list[ItemOutcome] = field(default_factory=list)
    # Task type -> the earliest time from which its quality_improvement baselines may have moved.
    touched: dict[str, datetime] = field(default_factory=dict)

    def touch(self, task_type: str, at: datetime) -> None:
        if task_type not in self.touched or at < self.touched[task_type]:
            self.touched[task_type] = at

    def absorb(self, other: BatchResult) -> None:
        self.outcomes.extend(other.outcomes)
        for task_type, at in other.touched.items():
            self.touch(task_type, at)


@dataclass
class _State:
    draft: Draft
    raw: list[dict[str, Any]]
    source: str
    record: TaskRecord | None = None
    changed: bool = False
    names_before: tuple[bool, bool] = (False, False)  # had skills, had agents


OnWrite = Callable[["BatchResult"], None]


def apply_batch(tasks: Sequence[LegacyTask], *, on_write: OnWrite | None = None) -> BatchResult:
    """Merge ``tasks`` into the stored records: create, fill gaps, or skip what is already there.

    One transaction; retried when another writer inserted one of the same identities meanwhile.
    A batch the database refuses is written record by record, so one bad record fails alone.
    ``on_write(result)`` runs inside each transaction, last: what it writes commits with the batch.
    """
    for _attempt in range(INTEGRITY_RETRIES):
        try:
            return with_lock_retry(lambda: _write(tasks, on_write))
        except IntegrityError:
            continue
        except DatabaseError:
            break
    return _write_one_by_one(tasks, on_write)


def _write_one_by_one(tasks: Sequence[LegacyTask], on_write: OnWrite | None) -> BatchResult:
    result = BatchResult()
    for task in tasks:
        try:
            one = with_lock_retry(lambda task=task: _write([task], on_write))
        except DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.info("record %s refused by the database: %s", task.record_id, reason)
            result.outcomes.append(
                ItemOutcome(task, "failed", f"the database refused it: {reason}")
            )
            continue
        result.absorb(one)
    return result


def _write(tasks: Sequence[LegacyTask], on_write: OnWrite | None = None) -> BatchResult:
    result = BatchResult()
    with transaction.atomic():
        _merge_and_store(tasks, result)
        if on_write is not None:
            on_write(result)
    return result


def _merge_and_store(tasks: Sequence[LegacyTask], result: BatchResult) -> None:
    """The body of ``_write``, inside its transaction: merge, then store records and rollups."""
    ids = list(dict.fromkeys(task.record_id for task in tasks))
    existing = {
        record.record_id: record
        for record in TaskRecord.objects.filter(record_id__in=ids).select_related("model")
    }
    skills = _names_by_record(RecordSkill, "skill__name", existing.values())
    agents = _names_by_record(RecordAgent, "agent__name", existing.values())

    states: dict[str, _State] = {}
    for task in tasks:
        state = states.get(task.record_id)
        if state is None and task.record_id in existing:
            record = existing[task.record_id]
            state = _State(
                draft=draft_from_record(
                    record, skills=skills.get(record.pk, []), agents=agents.get(record.pk, [])
                ),
                raw=list(record.raw or []),
                source=record.source,
                record=record,
                names_before=(bool(skills.get(record.pk)), bool(agents.get(record.pk))),
            )
            states[task.record_id] = state
        entry = {"source": task.source, "payload": task.payload}
        if state is None:
            if task.recorded_at is None:
                result.outcomes.append(ItemOutcome(task, "failed", MSG_NO_TIMESTAMP))
                continue
            states[task.record_id] = _State(
                draft=draft_from_task(task), raw=[entry], source=task.source, changed=True
            )
            result.outcomes.append(ItemOutcome(task, "created"))
        elif entry in state.raw:
            result.outcomes.append(ItemOutcome(task, "skipped"))
        else:
            fill_gaps(state.draft, task)
            state.raw.append(entry)
            state.changed = True
            result.outcomes.append(ItemOutcome(task, "merged"))

    changed = {rid: s for rid, s in states.items() if s.changed}
    if not changed:
        return
    models = names_to_objects(AIModel, {model_name(s.draft) for s in changed.values()})
    skill_objs = names_to_objects(
        Skill, {n for s in changed.values() for n in (s.draft.skills or [])}
    )
    agent_objs = names_to_objects(
        Agent, {n for s in changed.values() for n in (s.draft.agents or [])}
    )

    # What the records being merged counted in the rollups before this batch changed them.
    old_facts = facts_for([s.record for s in changed.values() if s.record is not None])

    now = timezone.now()
    new_rows: list[dict[str, Any]] = []
    updated_rows: list[dict[str, Any]] = []
    for record_id, state in changed.items():
        values = finalise(state.draft)
        values["model"] = models[model_name(state.draft)].pk
        values["raw"] = state.raw
        result.touch(values["task_type"], values["recorded_at"])
        if state.record is None:
            new_rows.append(
                values | {"record_id": record_id, "source": state.source, "created_at": now}
            )
        else:
            result.touch(state.record.task_type, state.record.recorded_at)
            updated_rows.append(values | {"id": state.record.pk})

    insert_rows(TaskRecord, new_rows)
    update_rows(TaskRecord, updated_rows)
    pks = {record_id: s.record.pk for record_id, s in changed.items() if s.record is not None}
    if new_rows:
        pks |= dict(
            TaskRecord.objects.filter(
                record_id__in=[row["record_id"] for row in new_rows]
            ).values_list("record_id", "id")
        )

    skill_rows: list[dict[str, int]] = []
    agent_rows: list[dict[str, int]] = []
    for record_id, state in changed.items():
        had_skills, had_agents = state.names_before
        if not had_skills:
            skill_rows += [
                {"record": pks[record_id], "skill": skill_objs[name].pk}
                for name in state.draft.skills or []
            ]
        if not had_agents:
            agent_rows += [
                {"record": pks[record_id], "agent": agent_objs[name].pk}
                for name in state.draft.agents or []
            ]
    insert_rows(RecordSkill, skill_rows, ignore_conflicts=True)
    insert_rows(RecordAgent, agent_rows, ignore_conflicts=True)

    apply_rollups(old_facts, sign=-1)
    stored = TaskRecord.objects.filter(pk__in=pks.values()).only(*FACT_FIELDS)
    apply_rollups(facts_for(list(stored)))


def apply_exported(exported: Sequence[ExportedRecord]) -> BatchResult:
    """Restore records from a perfsite export exactly as exported: not re-scored, not merged.

    A record_id already stored is skipped (with a reason when the stored record differs), so
    importing an export twice creates nothing. One transaction with the rollups; a batch the
    database refuses is written record by record, so one bad record fails alone.
    """
    for _attempt in range(INTEGRITY_RETRIES):
        try:
            return with_lock_retry(lambda: _restore(exported))
        except IntegrityError:
            continue
        except DatabaseError:
            break
    result = BatchResult()
    for item in exported:
        try:
            result.absorb(with_lock_retry(lambda item=item: _restore([item])))
        except DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.info("record %s refused by the database: %s", item.record_id, reason)
            result.outcomes.append(
                ItemOutcome(item, "failed", f"the database refused it: {reason}")
            )
    return result


def _restore(exported: Sequence[ExportedRecord]) -> BatchResult:
    result = BatchResult()
    with transaction.atomic():
        stored = rows_for(list({item.record_id for item in exported}))
        new: dict[str, ExportedRecord] = {}
        for item in exported:
            if item.record_id in new:
                result.outcomes.append(
                    ItemOutcome(item, "failed", "record_id repeated in this export")
                )
            elif item.record_id in stored:
                same = _as_json(stored[item.record_id]) == _as_json(item.row)
                result.outcomes.append(ItemOutcome(item, "skipped", "" if same else MSG_DIFFERS))
            else:
                new[item.record_id] = item
                result.outcomes.append(ItemOutcome(item, "created"))
        if not new:
            return result
        models = names_to_objects(AIModel, {item.model for item in new.values()})
        skills = names_to_objects(Skill, {n for item in new.values() for n in item.skills})
        agents = names_to_objects(Agent, {n for item in new.values() for n in item.agents})
        now = timezone.now()
        insert_rows(
            TaskRecord,
            [
                {"record_id": record_id, **item.values}
                | {"model": models[item.model].pk, "created_at": now}
                for record_id, item in new.items()
            ],
        )
        pks = dict(
            TaskRecord.objects.filter(record_id__in=list(new)).values_list("record_id", "id")
        )
        # In list order, so the names export again in the order they were exported.
        insert_rows(
            RecordSkill,
            [
                {"record": pks[rid], "skill": skills[name].pk}
                for rid, item in new.items()
                for name in item.skills
            ],
        )
        insert_rows(
            RecordAgent,
            [
                {"record": pks[rid], "agent": agents[name].pk}
                for rid, item in new.items()
                for name in item.agents
            ],
        )
        written = TaskRecord.objects.filter(pk__in=pks.values()).only(*FACT_FIELDS)
        apply_rollups(facts_for(list(written)))
    return result


def _as_json(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


# Fields whose Python values (as the importer builds them: str, int, float, bool, None) are already
# what the database driver takes; every other field goes through ``get_db_prep_save``.
_PLAIN_TYPES = {
    "CharField",
    "TextField",
    "FloatField",
    "BooleanField",
    "IntegerField",
    "PositiveIntegerField",
    "BigIntegerField",
    "ForeignKey",
}


def _preparers(fields, connection) -> list:
    def plain(value):
        return value

    return [
        plain
        if field.get_internal_type() in _PLAIN_TYPES
        else functools.partial(field.get_db_prep_save, connection=connection)
        for field in fields
    ]


def update_rows(model, rows: list[dict[str, Any]]) -> None:
    """UPDATE many rows by ``id`` with one prepared statement; every row sets the same fields."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    names = [name for name in rows[0] if name != "id"]
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET "
        + ", ".join(f"{quote(f.column)} = %s" for f in fields)
        + f" WHERE {quote(model._meta.pk.column)} = %s"
    )
    prep = _preparers(fields, connection)
    params = [
        [*(p(row[f.name]) for f, p in zip(fields, prep, strict=True)), row["id"]] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _names_by_record(through, name_path: str, records: Iterable[TaskRecord]) -> dict[int, list]:
    pks = [record.pk for record in records]
    names: dict[int, list[str]] = {}
    if not pks:
        return names
    rows = through.objects.filter(record_id__in=pks).order_by("id")
    for record_pk, name in rows.values_list("record_id", name_path):
        names.setdefault(record_pk, []).append(name)
    return names


def refresh_quality_improvements(
    *,
    since_by_type: Mapping[str, datetime],
    on_progress: Callable[[], None] | None = None,
) -> int:
    """Re-derive ``quality_improvement`` of imported records that did not give one.

    The baseline rule (quality minus the mean of the previous up-to-10 records of the same type)
    depends on every record of that type, including ones imported after this one, so it is applied
    once the files are in: per touched type, one ordered pass over the records from the earliest
    changed one on, memory bounded, only changed rows written. Returns how many records changed.
    Idempotent: running it again over the same span changes nothing, so an interrupted refresh is
    finished by running it again (``records.importer.recovery``). ``on_progress`` is called every
    few thousand records read.
    """
    changed = 0
    read = 0
    for task_type, since in sorted(since_by_type.items()):
        earlier = (
            TaskRecord.objects.filter(task_type=task_type, recorded_at__lt=since)
            .order_by("-recorded_at", "-id")
            .values_list("quality_score", flat=True)[:BASELINE_WINDOW]
        )
        window: deque[float] = deque(reversed(list(earlier)), maxlen=BASELINE_WINDOW)
        same_time: list[float] = []
        current_time = None
        pending: list[dict[str, Any]] = []
        rows = (
            TaskRecord.objects.filter(task_type=task_type, recorded_at__gte=since)
            .order_by("recorded_at", "id")
            .values_list(
                "id",
                "recorded_at",
                "quality_score",
                "quality_improvement",
                "source",
                "score_breakdown",
            )
            .iterator(chunk_size=2_000)
        )
        for pk, recorded_at, quality, improvement, source, breakdown in rows:
            read += 1
            if on_progress is not None and not read % REFRESH_PROGRESS:
                on_progress()
            if recorded_at != current_time:  # the baseline is the strictly earlier records
                window.extend(same_time)
                same_time = []
                current_time = recorded_at
            same_time.append(quality)
            given = (breakdown or {}).get("given") if source.startswith("legacy:") else None
            if given is None or "quality_improvement" in given:
                continue
            value = quality_improvement(quality, list(window))
            if value != improvement:
                pending.append({"quality_improvement": value, "id": pk})
            if len(pending) >= REFRESH_CHUNK:
                changed += _update_improvements(pending)
                pending = []
        changed += _update_improvements(pending)
    return changed


def _update_improvements(rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0

    def write() -> None:
        with transaction.atomic():
            update_rows(TaskRecord, rows)

    with_lock_retry(write)
    return len(rows)
