"""The importer's writes. ``apply_batch`` is the ONE function that writes imported records.

It takes normalised tasks (any number of them sharing an identity), looks the identities up with
one query, merges, and writes with bulk inserts and updates inside one transaction. Hook anything
that must follow record writes (rollup tables, caches) into ``apply_batch``; the only other write
is ``refresh_quality_improvements``, which afterwards re-derives the baseline-based
``quality_improvement`` of imported records that did not give one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import DatabaseError, IntegrityError, transaction

from records.importer.merge import (
    STORED_FIELDS,
    Draft,
    draft_from_record,
    draft_from_task,
    fill_gaps,
    finalise,
    model_name,
)
from records.importer.normalise import LegacyTask
from records.models import Agent, AIModel, RecordAgent, RecordSkill, Skill, TaskRecord
from records.scoring import BASELINE_WINDOW, quality_improvement
from records.services import names_to_objects, with_lock_retry

logger = logging.getLogger(__name__)

Outcome = Literal["created", "merged", "skipped", "failed"]
INTEGRITY_RETRIES = 3
REFRESH_CHUNK = 1_000
MSG_NO_TIMESTAMP = "timestamp: missing, and no other source of this record gives one"


@dataclass
class ItemOutcome:
    task: LegacyTask
    outcome: Outcome
    reason: str = ""


@dataclass
class BatchResult:
    outcomes: list[ItemOutcome] = field(default_factory=list)
    # Task types whose quality_improvement baselines may have moved.
    touched_types: set[str] = field(default_factory=set)


@dataclass
class _State:
    draft: Draft
    raw: list[dict[str, Any]]
    source: str
    record: TaskRecord | None = None
    changed: bool = False
    names_before: tuple[bool, bool] = (False, False)  # had skills, had agents


def apply_batch(tasks: Sequence[LegacyTask]) -> BatchResult:
    """Merge ``tasks`` into the stored records: create, fill gaps, or skip what is already there.

    One transaction; retried when another writer inserted one of the same identities meanwhile.
    A batch the database refuses is written record by record, so one bad record fails alone.
    """
    for _attempt in range(INTEGRITY_RETRIES):
        try:
            return with_lock_retry(lambda: _write(tasks))
        except IntegrityError:
            continue
        except DatabaseError:
            break
    return _write_one_by_one(tasks)


def _write_one_by_one(tasks: Sequence[LegacyTask]) -> BatchResult:
    result = BatchResult()
    for task in tasks:
        try:
            one = with_lock_retry(lambda task=task: _write([task]))
        except DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            logger.info("record %s refused by the database: %s", task.record_id, reason)
            result.outcomes.append(
                ItemOutcome(task, "failed", f"the database refused it: {reason}")
            )
            continue
        result.outcomes.extend(one.outcomes)
        result.touched_types |= one.touched_types
    return result


def _write(tasks: Sequence[LegacyTask]) -> BatchResult:
    result = BatchResult()
    with transaction.atomic():
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
            return result
        models = names_to_objects(AIModel, {model_name(s.draft) for s in changed.values()})
        skill_objs = names_to_objects(
            Skill, {n for s in changed.values() for n in (s.draft.skills or [])}
        )
        agent_objs = names_to_objects(
            Agent, {n for s in changed.values() for n in (s.draft.agents or [])}
        )

        new_records: list[TaskRecord] = []
        updated: list[TaskRecord] = []
        for record_id, state in changed.items():
            values = finalise(state.draft)
            model = models[model_name(state.draft)]
            result.touched_types.add(values["task_type"])
            if state.record is None:
                new_records.append(
                    TaskRecord(
                        record_id=record_id,
                        model=model,
                        source=state.source,
                        raw=state.raw,
                        **values,
                    )
                )
                continue
            record = state.record
            result.touched_types.add(record.task_type)
            for name in STORED_FIELDS:
                setattr(record, name, values[name])
            record.model = model
            record.raw = state.raw
            updated.append(record)

        TaskRecord.objects.bulk_create(new_records)
        if updated:
            TaskRecord.objects.bulk_update(updated, [*STORED_FIELDS, "model", "raw"])

        skill_rows: list[RecordSkill] = []
        agent_rows: list[RecordAgent] = []
        for record in [*new_records, *updated]:
            state = changed[record.record_id]
            had_skills, had_agents = state.names_before
            if not had_skills:
                skill_rows += [
                    RecordSkill(record=record, skill=skill_objs[name])
                    for name in state.draft.skills or []
                ]
            if not had_agents:
                agent_rows += [
                    RecordAgent(record=record, agent=agent_objs[name])
                    for name in state.draft.agents or []
                ]
        RecordSkill.objects.bulk_create(skill_rows, ignore_conflicts=True)
        RecordAgent.objects.bulk_create(agent_rows, ignore_conflicts=True)
    return result


def _names_by_record(through, name_path: str, records: Iterable[TaskRecord]) -> dict[int, list]:
    pks = [record.pk for record in records]
    names: dict[int, list[str]] = {}
    if not pks:
        return names
    rows = through.objects.filter(record_id__in=pks).order_by("id")
    for record_pk, name in rows.values_list("record_id", name_path):
        names.setdefault(record_pk, []).append(name)
    return names


def refresh_quality_improvements(*, task_types: Iterable[str]) -> int:
    """Re-derive ``quality_improvement`` of imported records that did not give one.

    The baseline rule (quality minus the mean of the previous up-to-10 records of the same type)
    depends on every record of that type, including ones imported after this one, so it is applied
    once the files are in: one ordered pass per type, memory bounded, only changed rows written.
    Returns how many records changed.
    """
    changed = 0
    for task_type in sorted(task_types):
        window: deque[float] = deque(maxlen=BASELINE_WINDOW)
        same_time: list[float] = []
        current_time = None
        pending: list[TaskRecord] = []
        rows = (
            TaskRecord.objects.filter(task_type=task_type)
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
                pending.append(TaskRecord(pk=pk, quality_improvement=value))
            if len(pending) >= REFRESH_CHUNK:
                changed += _update_improvements(pending)
                pending = []
        changed += _update_improvements(pending)
    return changed


def _update_improvements(records: list[TaskRecord]) -> int:
    if not records:
        return 0

    def write() -> int:
        with transaction.atomic():
            return TaskRecord.objects.bulk_update(records, ["quality_improvement"])

    return with_lock_retry(write)
