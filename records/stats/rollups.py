"""Rollups: exact totals per (hour, day or month, task type, AUTO, project), the same per model,
and per day and month for each model and skill or agent (the levels: records.models.RollupBase).

Every write path calls ``apply_rollups`` inside its own transaction with the facts of the records
it adds (+1) or removes (-1), so a rollup is never out of step with the records it sums. The
dashboard reads long periods from here; ``rebuild_rollups`` recomputes everything from records.
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from records.models import (
    BUCKET_FIELDS,
    DURATION_BUCKETS,
    SQUARE_COUNTERS,
    AgentRollup,
    RecordAgent,
    RecordSkill,
    Rollup,
    RollupBase,
    SkillRollup,
    Span,
    TaskRecord,
    TypeRollup,
)
from records.recording.bulk import native_placeholders
from records.rules.periods import truncate
from records.rules.scoring import passes, tenths

COUNTERS = (
    "count",
    "success_count",
    "pass_count",
    "quality_tenths",
    "performance_tenths",
    "efficiency_tenths",
    "efficiency_count",
    "duration_ms",
    "duration_count",
    "cost_micros",
    "cost_count",
    "cost_pass_count",
    "tokens_input",
    "tokens_output",
    "tokens_cache_read",
    "tokens_cache_creation",
    "tokens_count",
    *SQUARE_COUNTERS,
)
REBUILD_BATCH = 5_000
HOUR, DAY, MONTH = Span.HOUR.value, Span.DAY.value, Span.MONTH.value
ONE_HOT = tuple(
    tuple(int(i == j) for i in range(len(BUCKET_FIELDS))) for j in range(len(BUCKET_FIELDS))
)


@dataclass(frozen=True)
class Facts:
    """What a record contributes to the rollups."""

    recorded_at: datetime
    task_type: str
    model_id: int
    auto_generated: bool
    success: bool
    quality_score: float
    performance_index: float
    time_efficiency: float | None
    duration_seconds: float | None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    project: str = ""
    advised: bool = False  # TaskRecord.advice is not empty (TypeRollup's key only)
    skill_ids: Sequence[int] = field(default_factory=tuple)
    agent_ids: Sequence[int] = field(default_factory=tuple)

    @classmethod
    def of(
        cls, record: TaskRecord, skill_ids: Sequence[int] = (), agent_ids: Sequence[int] = ()
    ) -> Facts:
        return cls(
            recorded_at=record.recorded_at,
            task_type=record.task_type,
            model_id=record.model_id,
            auto_generated=record.auto_generated,
            success=record.success,
            quality_score=record.quality_score,
            performance_index=record.performance_index,
            time_efficiency=record.time_efficiency,
            duration_seconds=record.duration_seconds,
            cost_usd=record.cost_usd,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cache_read_tokens=record.cache_read_tokens,
            cache_creation_tokens=record.cache_creation_tokens,
            project=record.project,
            advised=bool(record.advice),
            skill_ids=tuple(skill_ids),
            agent_ids=tuple(agent_ids),
        )

    def counters(self) -> tuple[int | float, ...]:
        """The record's values in COUNTERS order. Squares are whole numbers kept in float
        columns (exact up to 2**53, and never an overflow): see SQUARE_COUNTERS."""
        eff, duration, cost = self.time_efficiency, self.duration_seconds, self.cost_usd
        tokens = (
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_creation_tokens,
        )
        quality, performance = tenths(self.quality_score), tenths(self.performance_index)
        passed = int(passes(self.quality_score))
        return (
            1,
            int(self.success),
            passed,
            quality,
            performance,
            0 if eff is None else tenths(eff),
            0 if eff is None else 1,
            0 if duration is None else round(duration * 1000),
            0 if duration is None else 1,
            0 if cost is None else half_up(cost * COST_MICROS),
            0 if cost is None else 1,
            0 if cost is None else passed,
            *(n or 0 for n in tokens),
            int(any(n is not None for n in tokens)),
            float(quality * quality),
            float(performance * performance),
            0.0 if duration is None else float(half_up(duration * 10) ** 2),
            0.0 if cost is None else float(half_up(cost * COST_SQUARE_UNITS) ** 2),
        )

    def bucket(self) -> int | None:
        """Index of this record's duration bucket, None without a duration."""
        if self.duration_seconds is None:
            return None
        return bisect_left(DURATION_BUCKETS, self.duration_seconds)


COST_MICROS = 1_000_000  # cost_micros: dollars x 10**6
COST_SQUARE_UNITS = 10_000  # cost_sq: squares of dollars x 10**4 (a $5 task adds 2.5e9)


def half_up(value: float) -> int:
    """Round a non-negative value half up, as SQL's ROUND does (Python's round() does not)."""
    return math.floor(value + 0.5)


def apply_rollups(facts: Iterable[Facts], *, sign: int = 1) -> None:
    """Add (sign=1) or subtract (sign=-1) records' contributions to their hour, day and month,
    in every rollup level (TypeRollup, Rollup, SkillRollup, AgentRollup).

    Call inside the transaction that writes or deletes the records. Each key collects its
    records' counter tuples and sums them column by column at the end (C-level ``sum``), which
    keeps bulk paths such as seeding fast.
    """
    no_bucket = (0,) * len(BUCKET_FIELDS)
    # Collected per hour only; a day's and a month's deltas are the sums of their hours' (every
    # counter is a whole number, so the order of the additions cannot change a total).
    hours: dict[type[RollupBase], dict[tuple, list[tuple[int, ...]]]] = {
        TypeRollup: defaultdict(list),
        Rollup: defaultdict(list),
        SkillRollup: defaultdict(list),
        AgentRollup: defaultdict(list),
    }
    types, records = hours[TypeRollup], hours[Rollup]
    skills, agents = hours[SkillRollup], hours[AgentRollup]
    for fact in facts:
        counters = fact.counters()
        bucket = fact.bucket()
        with_buckets = counters + (no_bucket if bucket is None else ONE_HOT[bucket])
        hour = truncate(fact.recorded_at, "hour")
        key = (hour, fact.task_type, fact.model_id, fact.auto_generated, fact.project)
        types[(hour, fact.task_type, fact.auto_generated, fact.project, fact.advised)].append(
            with_buckets
        )
        records[key].append(with_buckets)
        for skill in fact.skill_ids:
            skills[(*key, skill)].append(counters)
        for agent in fact.agent_ids:
            agents[(*key, agent)].append(counters)
    for table, by_hour in hours.items():
        _upsert(table, _with_days_and_months(by_hour), sign)


def _with_days_and_months(by_hour: dict[tuple, list[tuple[int, ...]]]) -> dict[tuple, list]:
    """{(span, start, *key): column totals} for every hour of ``by_hour`` ({(hour, *key): the
    records' counter tuples}) and for the day and the month it falls in."""
    sums: dict[tuple, list] = {}
    for (hour, *key), items in by_hour.items():
        totals = [sum(column) for column in zip(*items, strict=True)]
        sums[(HOUR, hour, *key)] = totals
        day = hour.replace(hour=0)
        for span_key in ((DAY, day, *key), (MONTH, day.replace(day=1), *key)):
            known = sums.get(span_key)
            if known is None:
                sums[span_key] = totals.copy()
            else:
                sums[span_key] = [a + b for a, b in zip(known, totals, strict=True)]
    return sums


def _key_columns(table: type[RollupBase]) -> list[str]:
    """A table's key in the order ``apply_rollups`` builds it."""
    if table is TypeRollup:
        return ["span", "start", "task_type", "auto_generated", "project", "advised"]
    extra = {SkillRollup: ["skill_id"], AgentRollup: ["agent_id"]}.get(table, [])
    return ["span", "start", "task_type", "model_id", "auto_generated", "project", *extra]


BUCKETED = (TypeRollup, Rollup)  # the levels that count records per duration bucket
ROLLUP_TABLES = (TypeRollup, Rollup, SkillRollup, AgentRollup)


UPSERT_PARAMS = 16_000  # per multi-row upsert on SQLite: under its 32,766 variables


@functools.cache
def _upsert_sql(table: type[RollupBase], vendor: str) -> tuple[str, str, str, int]:
    """(INSERT head, its rows' part, ON CONFLICT tail, delete-if-empty) of a rollup table, built
    once per table and vendor. The rows' part on PostgreSQL is ``SELECT * FROM unnest(…)`` of one
    array per column: a statement of fixed text whatever the number of rows (psycopg neither
    re-parses a long statement nor sends one parameter per value); elsewhere it is one row of a
    multi-row VALUES."""
    qn = connection.ops.quote_name
    name = qn(table._meta.db_table)
    keys = _key_columns(table)
    sums = [*COUNTERS, *BUCKET_FIELDS] if table in BUCKETED else list(COUNTERS)
    columns = [*keys, *sums]
    updates = ", ".join(f"{qn(c)} = {name}.{qn(c)} + excluded.{qn(c)}" for c in sums)
    head = f"INSERT INTO {name} ({', '.join(qn(c) for c in columns)}) "
    if vendor == "postgresql":
        types = [table._meta.get_field(c).db_type(connection) for c in columns]
        rows = f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in types)})"
    else:
        rows = f"({', '.join(['%s'] * len(columns))})"
    tail = f" ON CONFLICT ({', '.join(qn(c) for c in keys)}) DO UPDATE SET {updates}"
    where = " AND ".join(f"{qn(c)} = %s" for c in keys)
    delete = f"DELETE FROM {name} WHERE {where} AND {qn('count')} = 0"
    return head, rows, tail, delete


def _upsert(table: type[RollupBase], rows: dict[tuple, list[int]], sign: int) -> None:
    """Add the summed deltas of ``rows`` (one per key) to their rows of ``table`` with as few
    ``INSERT … ON CONFLICT DO UPDATE`` statements as possible: one on PostgreSQL (unnest of
    column arrays), multi-row VALUES chunked under the variable limit on SQLite — one statement
    and one round trip instead of one per key. Each key appears once, as one statement needs."""
    if not rows:
        return
    head, values, tail, delete = _upsert_sql(table, connection.vendor)
    adapt_time = connection.ops.adapt_datetimefield_value
    params = [
        (key[0], adapt_time(key[1]), *key[2:], *(sign * value for value in totals))
        for key, totals in rows.items()
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*params, strict=True)]
            cursor.execute(f"{head}{values}{tail}", columns)
        else:
            values = native_placeholders(values)
            per_statement = max(1, UPSERT_PARAMS // len(params[0]))
            for start in range(0, len(params), per_statement):
                chunk = params[start : start + per_statement]
                sql = f"{head}VALUES {', '.join([values] * len(chunk))}{tail}"
                cursor.execute(sql, [value for one in chunk for value in one])
        if sign < 0:  # drop rows that no longer count anything
            width = len(_key_columns(table))
            cursor.executemany(delete, [param[:width] for param in params])


def facts_for(records: Sequence[TaskRecord]) -> list[Facts]:
    """Facts of stored records, with their skills and agents in two queries."""
    ids = [record.pk for record in records]
    skills: dict[int, list[int]] = defaultdict(list)
    agents: dict[int, list[int]] = defaultdict(list)
    for record_id, skill_id in RecordSkill.objects.filter(record_id__in=ids).values_list(
        "record_id", "skill_id"
    ):
        skills[record_id].append(skill_id)
    for record_id, agent_id in RecordAgent.objects.filter(record_id__in=ids).values_list(
        "record_id", "agent_id"
    ):
        agents[record_id].append(agent_id)
    return [Facts.of(r, skills[r.pk], agents[r.pk]) for r in records]


FACT_FIELDS = [
    "id",
    "recorded_at",
    "task_type",
    "model_id",
    "auto_generated",
    "success",
    "quality_score",
    "performance_index",
    "time_efficiency",
    "duration_seconds",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "project",
    "advice",
]


def rebuild_rollups() -> int:
    """Recompute every rollup from the records; returns how many records were summed."""
    total = 0
    with transaction.atomic():
        for table in ROLLUP_TABLES:
            table.objects.all().delete()
        last_id = 0
        while True:
            batch = list(
                TaskRecord.objects.filter(pk__gt=last_id)
                .order_by("pk")
                .only(*FACT_FIELDS)[:REBUILD_BATCH]
            )
            if not batch:
                break
            apply_rollups(facts_for(batch))
            total += len(batch)
            last_id = batch[-1].pk
    vacuum_rollups()  # after the transaction: VACUUM cannot run inside one
    return total


def vacuum_rollups() -> None:
    """PostgreSQL, outside a transaction: VACUUM ANALYZE the rollup tables (inside one: ANALYZE
    only, all PostgreSQL allows). A rebuild replaces every row, and until autovacuum gets to
    them the old ones stay in the tables and their indexes as dead tuples that every read
    steps over: the all-time page at a million records took 548 ms after a rebuild, 128 ms
    after this (bench/bench_panels.py). SQLite reuses the freed pages itself."""
    if connection.vendor != "postgresql":
        return
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"{command} {qn(table._meta.db_table)}")
