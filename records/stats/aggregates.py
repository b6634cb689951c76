"""Exact aggregates over any window and filter set, read from rollups plus the edge records.

A window ``(start, end]`` is cut into whole UTC days (day rollups), whole hours at its edges
(hour rollups) and the records of its two partial hours (read from the records table), so the
work per request stays bounded however much history is stored: at most two queries per call.
Skill and agent rollups have the same hour, day and month rows (per skill or agent), so their
edges are partial hours too: with days only, a window's edge days were read from the record
links, up to half a day of records at each edge, which at a million records (11,000 a day) cost
more than all the rollup rows of the window.
A search (``RecordFilters.search``) is no dimension of the rollups: its totals are summed from
the matching records alone, found through the search index (records.stats.search).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import add
from typing import Any, Literal

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Floor, Round, TruncDay, TruncHour
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import timezone

from records.models import (
    BUCKET_FIELDS,
    DURATION_BUCKETS,
    SQUARE_COUNTERS,
    Agent,
    AgentRollup,
    AIModel,
    Rollup,
    Skill,
    SkillRollup,
    Span,
    TaskRecord,
    TypeRollup,
)
from records.rules.confidence import Sample
from records.rules.periods import DAY, HOUR, Window, truncate
from records.rules.scoring import PASS_THRESHOLD
from records.stats.filters import (
    NO_FILTERS,
    RecordFilters,
    records_in,
    unindexed,
    unindexed_time,
)
from records.stats.rollups import COST_MICROS, COST_SQUARE_UNITS, COUNTERS

Metric = Literal["quality", "performance", "duration", "cost"]

Subject = Literal["records", "skills", "agents"]
# Group dimensions the database returns as plain text (see ``totals``), and those of time.
_TEXT_DIMENSIONS = {"task_type", "model", "skill", "agent", "project"}
TIME_DIMENSIONS = {"day", "month", "hour"}
EXACT_MEDIAN_LIMIT = 20_000


@dataclass
class Totals:
    key: dict[str, Any]
    count: int = 0
    success_count: int = 0
    pass_count: int = 0
    quality_tenths: int = 0
    performance_tenths: int = 0
    efficiency_tenths: int = 0
    efficiency_count: int = 0
    duration_ms: int = 0
    duration_count: int = 0
    cost_micros: int = 0
    cost_count: int = 0
    cost_pass_count: int = 0
    tokens_input: int = 0
    tokens_output: int = 0
    tokens_cache_read: int = 0
    tokens_cache_creation: int = 0
    tokens_count: int = 0
    quality_sq: float = 0.0
    performance_sq: float = 0.0
    duration_sq: float = 0.0
    cost_sq: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKET_FIELDS))

    def merge(self, other: Totals) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def subtract(self, other: Totals) -> None:
        """Take ``other``'s records away (a part of these): every field is a sum, the squares
        too, so what is left is exactly the totals of the rest. Buckets are left alone (skill
        and agent rollups keep none)."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) - getattr(other, name))

    @property
    def avg_quality(self) -> float | None:
        return self.quality_tenths / 10 / self.count if self.count else None

    @property
    def avg_performance(self) -> float | None:
        return self.performance_tenths / 10 / self.count if self.count else None

    @property
    def success_rate(self) -> float | None:
        return 100 * self.success_count / self.count if self.count else None

    @property
    def pass_rate(self) -> float | None:
        return 100 * self.pass_count / self.count if self.count else None

    @property
    def total_cost(self) -> float | None:
        """US dollars of the records with a cost (None when none has one)."""
        return self.cost_micros / COST_MICROS if self.cost_count else None

    @property
    def cost_per_task(self) -> float | None:
        """Mean cost of the records that have one."""
        return self.cost_micros / COST_MICROS / self.cost_count if self.cost_count else None

    @property
    def cost_per_pass(self) -> float | None:
        """What one passing task cost: the priced records' cost over those of them that passed
        (the failed tasks' cost is part of the price of a pass). None without priced passes."""
        if not self.cost_pass_count:
            return None
        return self.cost_micros / COST_MICROS / self.cost_pass_count

    @property
    def total_tokens(self) -> int:
        return (
            self.tokens_input
            + self.tokens_output
            + self.tokens_cache_read
            + self.tokens_cache_creation
        )

    @property
    def tokens_per_task(self) -> float | None:
        return self.total_tokens / self.tokens_count if self.tokens_count else None

    def sample(self, metric: Metric) -> Sample:
        """The records' ``metric`` as (n, mean, standard deviation), for confidence intervals
        (records.rules.confidence); quality and performance in points, duration in seconds,
        cost in dollars."""
        n, total, squares, scale = {
            "quality": (self.count, self.quality_tenths / 10, self.quality_sq, 10),
            "performance": (self.count, self.performance_tenths / 10, self.performance_sq, 10),
            "duration": (self.duration_count, self.duration_ms / 1000, self.duration_sq, 10),
            "cost": (
                self.cost_count,
                self.cost_micros / COST_MICROS,
                self.cost_sq,
                COST_SQUARE_UNITS,
            ),
        }[metric]
        return Sample.of_sums(n, total, squares / (scale * scale))


def one_decimal(value: float | None) -> float | None:
    """A figure as reads print it: rounded to one decimal, None (no records) kept."""
    return None if value is None else round(value, 1)


Range = tuple[datetime | None, bool, datetime, bool]  # (lo, lo inclusive, hi, hi inclusive)


@dataclass(frozen=True)
class _Plan:
    """Which rollup rows and which raw records make up a window."""

    days: tuple[datetime | None, datetime] | None  # [from, to) of whole days
    hours: tuple[tuple[datetime, datetime], ...]  # [from, to) ranges of whole hours
    raw: tuple[Range, ...]  # records added to the rollups
    raw_minus: tuple[Range, ...] = ()  # records taken away from them (inside a day row, outside)


def _plan(window: Window, *, hourly_only: bool) -> _Plan:
    start, end = window.start, window.end
    tail = truncate(end, "hour")  # records in [tail, end] come from the records table
    first_full = None if start is None else truncate(start, "hour") + HOUR
    if first_full is not None and first_full > tail:
        return _Plan(days=None, hours=(), raw=((start, False, end, True),))
    raw = [(tail, True, end, True)]
    if start is not None:
        raw.append((start, False, first_full, False))
    if hourly_only:
        if first_full is None:
            return _Plan(
                days=None, hours=((datetime.min.replace(tzinfo=end.tzinfo), tail),), raw=tuple(raw)
            )
        return _Plan(days=None, hours=((first_full, tail),), raw=tuple(raw))
    last_day = truncate(tail, "day")
    first_day = None if first_full is None else truncate(first_full - HOUR, "day") + DAY
    if first_full is not None and first_day > last_day:
        return _Plan(days=None, hours=((first_full, tail),), raw=tuple(raw))
    hours = [(last_day, tail)]
    if first_full is not None:
        hours.append((first_full, first_day))
    return _Plan(
        days=(first_day, last_day), hours=tuple(h for h in hours if h[0] < h[1]), raw=tuple(raw)
    )


_ROLLUPS = {"records": Rollup, "skills": SkillRollup, "agents": AgentRollup}
_NAMED = {"skills": "skill", "agents": "agent"}  # the name column of each subject's rows


def rollup_table(subject: Subject, filters: RecordFilters, by: Sequence[str]) -> type | None:
    """The narrowest rollup level that can answer: without a model filter or a model group,
    the records' totals come from TypeRollup, whose rows do not multiply with the models.
    None when no level can: an ``advised`` filter (TypeRollup's key only) on another level."""
    if subject == "records" and filters.model is None and "model" not in by:
        return TypeRollup
    if filters.advised is not None:
        return None
    return _ROLLUPS[subject]


def _raw(subject: Subject, filters: RecordFilters) -> tuple[QuerySet, str]:
    """The rows a read sums when no rollup can answer (records, or their skill or agent
    links), as ``filters`` have them (a search's copied matches), and the prefix from them to
    the record."""
    if subject == "records":
        return filters.records(), ""
    return filters.links(subject), "record__"


def _dimension(name: str, *, rollup: bool, prefix: str, ids: bool = False):
    """The group expression of ``name``; ``ids``: models, skills and agents by id, not name.
    Records and links group by columns no index may serve (``unindexed``): their reads are the
    window's edges, which the time condition must find, not an index walked in group order."""
    if name in {"task_type", "auto_generated", "project"}:
        if rollup:
            return F(name)
        return unindexed(f"{prefix}{name}", TaskRecord._meta.get_field(name))
    if name == "model":
        if ids:
            return F("model_id") if rollup else unindexed(f"{prefix}model_id", BigIntegerField())
        return F("model__name" if rollup else f"{prefix}model__name")
    # Rollup rows group by their start and merge() folds the few groups into local days in
    # Python: calling the database's day truncation (a Python function on SQLite) once per
    # stored row costs far more. For the same reason SQLite groups records by their UTC quarter
    # hour (``QuarterHour``), which merge() folds into the reader's hours and days.
    if name in TIME_DIMENSIONS:
        if rollup:
            return F("start")
        if connection.vendor == "sqlite":
            return QuarterHour(f"{prefix}recorded_at")
        # month: the records' days, folded into months in merge
        return (TruncHour if name == "hour" else TruncDay)(f"{prefix}recorded_at")
    if name in {"skill", "agent"}:
        if not ids:
            return F(f"{name}__name")
        return F(f"{name}_id") if rollup else unindexed(f"{name}_id", BigIntegerField())
    raise ValueError(f"cannot group by {name!r}")


class QuarterHour(Func):
    """SQLite: the UTC quarter hour of a stored time, as text ``YYYY-MM-DD HH:q`` (q: 0 to 3),
    computed by SQLite's own string functions from the stored ``YYYY-MM-DD HH:MM:SS`` text.
    Django's truncation there is a Python function called once per row (24 ms for the 10,000
    rows of a search's copy); every time zone's hours and days start on a quarter hour, so
    ``quarter_start`` of the groups, truncated in Python, gives the same buckets."""

    template = (
        "(SUBSTR(%(expressions)s, 1, 14) || (CAST(SUBSTR(%(expressions)s, 15, 2) AS INTEGER) / 15))"
    )
    output_field = CharField()


def quarter_start(text: str) -> datetime:
    """The start of a ``QuarterHour`` group, an aware UTC datetime."""
    minute = 15 * int(text[14])
    return datetime(
        int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), minute, tzinfo=UTC
    )


# The tables of the names a group may be by (grouped_sql groups by their ids).
_NAME_TABLES = {"model": AIModel, "skill": Skill, "agent": Agent}


def _tenths(name: str):
    return Floor(F(name) * 10 + Value(0.5))


TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")


def _square(expression):
    """A value times itself, as a float (an integer product could overflow a bigint)."""
    as_float = Cast(expression, FloatField())
    return as_float * as_float


def row_counters() -> dict[str, Any]:
    """What one record adds to each of COUNTERS and BUCKET_FIELDS, as expressions on the
    record: ``_raw_sums`` without the sums (the same rounding, squares and bucket bounds; a
    test holds the two equal). records.stats.searched stores them with a search's copied
    matches, so that its figures add up columns (``_searched_sums``)."""

    def one_if(q: Q) -> Case:
        return Case(When(q, then=Value(1)), default=Value(0), output_field=BigIntegerField())

    def known(expression):  # 0 where the record has no value (a NULL adds nothing to a sum)
        return Coalesce(expression, Value(0), output_field=expression.output_field)

    tokens = Q(*(Q(**{f"{name}__isnull": False}) for name in TOKEN_COLUMNS), _connector=Q.OR)
    values = {
        "count": Value(1, output_field=BigIntegerField()),
        "success_count": one_if(Q(success=True)),
        "pass_count": one_if(Q(quality_score__gte=PASS_THRESHOLD)),
        "quality_tenths": Cast(_tenths("quality_score"), BigIntegerField()),
        "performance_tenths": Cast(_tenths("performance_index"), BigIntegerField()),
        "efficiency_tenths": known(Cast(_tenths("time_efficiency"), BigIntegerField())),
        "efficiency_count": one_if(Q(time_efficiency__isnull=False)),
        "duration_ms": known(Cast(Round(F("duration_seconds") * 1000), BigIntegerField())),
        "duration_count": one_if(Q(duration_seconds__isnull=False)),
        "cost_micros": known(Cast(Round(F("cost_usd") * COST_MICROS), BigIntegerField())),
        "cost_count": one_if(Q(cost_usd__isnull=False)),
        "cost_pass_count": one_if(Q(cost_usd__isnull=False, quality_score__gte=PASS_THRESHOLD)),
        **{
            f"tokens_{name.removesuffix('_tokens')}": known(Cast(F(name), BigIntegerField()))
            for name in TOKEN_COLUMNS
        },
        "tokens_count": one_if(tokens),
        "quality_sq": _square(_tenths("quality_score")),
        "performance_sq": _square(_tenths("performance_index")),
        "duration_sq": known(_square(Round(F("duration_seconds") * 10))),
        "cost_sq": known(_square(Round(F("cost_usd") * COST_SQUARE_UNITS))),
    }
    lower = None
    for name, bound in zip(BUCKET_FIELDS, (*DURATION_BUCKETS, None), strict=True):
        q = Q() if lower is None else Q(duration_seconds__gt=lower)
        q &= (
            Q(duration_seconds__lte=bound)
            if bound is not None
            else Q(duration_seconds__isnull=False)
        )
        values[name] = one_if(q)
        lower = bound
    return values


def counters_copied() -> bool:
    """Whether a search's copy stores each match's counters (``row_counters``). PostgreSQL:
    yes, its statements then add up plain columns. SQLite: no, its copy would cost more than
    it saves; adding up a few thousand rows costs it about the same with the expressions or
    without (36 ms more per copy of 10,000 matches, a few ms less per statement)."""
    return connection.vendor == "postgresql"


def _searched_sums(prefix: str, with_buckets: bool) -> dict[str, Any]:
    """``_raw_sums`` of a search's copied matches: the sums of the values ``row_counters``
    stored with each."""
    names = [*COUNTERS, *(BUCKET_FIELDS if with_buckets else ())]
    return {name: Sum(f"{prefix}{name}") for name in names}


def _raw_sums(prefix: str, with_buckets: bool) -> dict[str, Any]:
    def f(name: str) -> str:
        return f"{prefix}{name}"

    pk = f"{prefix}pk" if prefix else "pk"
    sums = {
        "count": Count(pk),
        "success_count": Count(pk, filter=Q(**{f("success"): True})),
        "pass_count": Count(pk, filter=Q(**{f("quality_score__gte"): PASS_THRESHOLD})),
        # Whole tenths rounded half up, as records.rules.scoring.tenths (and the rollups) count
        # them: a given score may have more decimals (69.375 counts as 69.4).
        "quality_tenths": Sum(_tenths(f("quality_score"))),
        "performance_tenths": Sum(_tenths(f("performance_index"))),
        "efficiency_tenths": Sum(_tenths(f("time_efficiency"))),
        "efficiency_count": Count(f("time_efficiency")),
        "duration_ms": Sum(Round(F(f("duration_seconds")) * 1000)),
        "duration_count": Count(f("duration_seconds")),
        "cost_micros": Sum(Round(F(f("cost_usd")) * COST_MICROS)),
        "cost_count": Count(f("cost_usd")),
        "cost_pass_count": Count(
            pk,
            filter=Q(**{f("cost_usd__isnull"): False, f("quality_score__gte"): PASS_THRESHOLD}),
        ),
        **{f"tokens_{name.removesuffix('_tokens')}": Sum(f(name)) for name in TOKEN_COLUMNS},
        "tokens_count": Count(
            pk,
            filter=Q(
                *(Q(**{f(f"{name}__isnull"): False}) for name in TOKEN_COLUMNS), _connector=Q.OR
            ),
        ),
        "quality_sq": Sum(_square(_tenths(f("quality_score")))),
        "performance_sq": Sum(_square(_tenths(f("performance_index")))),
        "duration_sq": Sum(_square(Round(F(f("duration_seconds")) * 10))),
        "cost_sq": Sum(_square(Round(F(f("cost_usd")) * COST_SQUARE_UNITS))),
    }
    if with_buckets:
        lower = None
        for name, bound in zip(BUCKET_FIELDS, (*DURATION_BUCKETS, None), strict=True):
            q = Q()
            if lower is not None:
                q &= Q(**{f("duration_seconds__gt"): lower})
            q &= (
                Q(**{f("duration_seconds__lte"): bound})
                if bound is not None
                else Q(**{f("duration_seconds__isnull"): False})
            )
            sums[name] = Count(pk, filter=q)
            lower = bound
    return sums


def totals(
    *,
    window: Window,
    filters: RecordFilters = NO_FILTERS,
    by: Sequence[str] = (),
    subject: Subject = "records",
    with_buckets: bool = False,
    name: str | None = None,
) -> list[Totals]:
    """Totals of the records in ``window`` matching ``filters``, grouped by ``by``.

    ``by`` names: task_type, model, auto_generated, project, day, hour, month (UTC months: read
    from the month rollups), and skill (subject "skills") or agent (subject "agents"). ``name``:
    only the records with that skill (subject "skills") or agent ("agents"). Rows come
    unordered; empty groups are absent.
    """
    found = []
    sums = grouped_sums(
        window=window,
        filters=filters,
        by=by,
        subject=subject,
        with_buckets=with_buckets,
        name=name,
    )
    for key, values in sums.items():
        total = Totals(dict(zip(by, key, strict=True)), *values[: len(COUNTERS)])
        if with_buckets:
            total.buckets = list(values[len(COUNTERS) :])
        found.append(total)
    return found


def grouped_sums(
    *,
    window: Window,
    filters: RecordFilters = NO_FILTERS,
    by: Sequence[str] = (),
    subject: Subject = "records",
    with_buckets: bool = False,
    name: str | None = None,
) -> dict[tuple, Sequence[int]]:
    """What ``totals`` returns, as plain values: the ``by`` values of each group -> its sums
    (COUNTERS, then BUCKET_FIELDS ``with_buckets``). For readers of thousands of groups (a view
    with 10,000 model names), which need no object per group."""
    if name is not None and subject not in _NAMED:
        raise ValueError("only skill and agent totals take a name")
    names = None if name is None else Q(**{f"{_NAMED[subject]}__name": name})
    plan = _plan_for(window, by, subject, filters)
    zone = timezone.get_current_timezone()  # days are the reader's (what TruncDay gives)

    columns = [*COUNTERS, *(BUCKET_FIELDS if with_buckets else ())]
    width = len(by)
    sums_by_key: dict[tuple, list[int]] = {}

    def grouped(qs: QuerySet, dimensions: dict[str, Any], sums: dict[str, Any]) -> Iterable[tuple]:
        """Rows as tuples: the ``by`` values, then the sums in ``columns`` order."""
        if not by:  # one row; values() without fields would group by every column instead
            row = qs.aggregate(**sums)  # None for sums over no rows
            return [tuple(row[name] or 0 for name in columns)]
        qs = qs.values(**dimensions).annotate(**sums).order_by()
        qs = qs.values_list(*dimensions, *columns)
        if not set(by) <= _TEXT_DIMENSIONS:
            return qs  # times and booleans: converted by Django
        # Names and types come back as text and sums as numbers, so the rows skip Django's
        # per-value converters: with thousands of names they cost more than the query.
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def merge(rows: Iterable[tuple], *, starts: bool = False, sign: int = 1) -> None:
        """Add (``sign`` 1) or take away (-1) grouped rows. Rollup rows (``starts``) come as
        integers (cast in SQL); the records' sums may be None (nothing to sum), a float (of
        ROUND) or a Decimal, integers in every case. Rollup rows are the many (one per name
        and task type at most), so they are taken as they are."""
        day = by.index("day") if starts and "day" in by else None
        month = by.index("month") if "month" in by else None
        quarters = (
            []
            if starts or connection.vendor != "sqlite"
            else [
                (i, "hour" if name == "hour" else "day")
                for i, name in enumerate(by)
                if name in TIME_DIMENSIONS
            ]
        )
        for row in rows:
            key = row[:width]
            for i, unit in quarters:  # QuarterHour groups
                key = (*key[:i], truncate(quarter_start(key[i]), unit, tz=zone), *key[i + 1 :])
            if day is not None:
                key = (*key[:day], truncate(key[day], "day", tz=zone), *key[day + 1 :])
            if month is not None:
                key = (*key[:month], truncate(key[month], "month", tz=zone), *key[month + 1 :])
            values = row[width:] if starts else [sign * int(v) if v else 0 for v in row[width:]]
            known = sums_by_key.get(key)
            sums_by_key[key] = values if known is None else list(map(add, known, values))

    for qs, dimensions, sums, sign in _parts(
        plan, filters=filters, by=by, subject=subject, with_buckets=with_buckets, names=names
    ):
        merge(grouped(qs, dimensions, sums), starts=sign == 0, sign=sign or 1)
    # count: groups whose records were all taken away are absent
    return {key: values for key, values in sums_by_key.items() if values[0]}


def _parts(
    plan: _Plan,
    *,
    filters: RecordFilters,
    by: Sequence[str],
    subject: Subject,
    with_buckets: bool,
    names: Q | None = None,
    ids: bool = False,
) -> Iterable[tuple[QuerySet, dict[str, Any], dict[str, Any], int]]:
    """The reads that make up a window's groups: (queryset, group expressions, sum expressions,
    sign) with sign 0 for the rollup rows (sums cast to integers in SQL), 1 for the records (or
    links) added to them and -1 for those taken away. ``names``: a Q on the group's name
    (``model__name``, ``skill__name``...) both on rollup rows and on records or links."""
    columns = [*COUNTERS, *(BUCKET_FIELDS if with_buckets else ())]
    rollup_q = _rollup_q(plan, monthly="day" not in by)
    if rollup_q:
        table = rollup_table(subject, filters, by)
        yield (
            table.objects.filter(_rollup_rows(rollup_q, filters.q(rollup=True) & (names or Q()))),
            {f"g_{name}": _dimension(name, rollup=True, prefix="", ids=ids) for name in by},
            # Cast: PostgreSQL sums bigints as numeric (a Decimal per value in Python).
            {
                name: Cast(
                    Sum(name), FloatField() if name in SQUARE_COUNTERS else BigIntegerField()
                )
                for name in columns
            },
            0,
        )
    rows_of, prefix = _raw(subject, filters)
    for ranges, sign in ((plan.raw, 1), (plan.raw_minus, -1)):
        if not ranges:
            continue
        raw_names = Q() if names is None else _prefixed(names, prefix)
        links_by_time = bool(prefix) and filters.by_rollups  # see _records_in
        found = _records_in(
            ranges,
            prefix,
            by_time=filters.by_rollups,
            indexed=filters.searched is None,
            records=filters.record_q() if links_by_time else None,
        )
        if prefix:
            rows = found & (filters.link_q() if links_by_time else filters.q(prefix)) & raw_names
        else:  # the records themselves: their conditions go in each time branch, as above
            rows = _in_each_branch(found, filters.q() & raw_names)
        copied = filters.searched is not None and counters_copied()
        sums = _searched_sums if copied else _raw_sums
        yield (
            rows_of.filter(rows),
            {f"g_{name}": _dimension(name, rollup=False, prefix=prefix, ids=ids) for name in by},
            sums(prefix, with_buckets),
            sign,
        )


def _rollup_rows(times: Q, conditions: Q) -> Q:
    """Rollup rows of the ``times`` branches (an OR of span and start ranges) that meet
    ``conditions`` (the filters and names, on the rows' own columns and their model, skill and
    agent names): ``_in_each_branch``.

    On SQLite, which keeps no statistics, a name condition joined the name's table and walked
    the (model, span, start) index by model alone: the OR of the time branches cannot extend an
    index key, so every rollup row of the model in the whole history was read (the heat map of
    four models over all time: 88 ms at 200k records, against 7 ms for every model's rows of
    the window)."""
    return _in_each_branch(times, conditions)


def _in_each_branch(times: Q, conditions: Q) -> Q:
    """``times`` (an OR of time ranges: rollup spans and starts, or the records' times at a
    window's two edges) AND ``conditions``.

    PostgreSQL plans by its statistics: the plain AND. On SQLite the conditions are repeated in
    each time branch, and names become id subqueries (``model_id IN (SELECT id ...)``), so each
    branch is one index range on (condition column, time): (model, span, start) on rollup rows,
    (task_type, recorded_at) on records. With the OR outside, SQLite searched such an index by
    the condition alone and read all of history: the edge records of one task type's week at
    a million records walked every record of the type (31.6 ms, against 0.02 ms per branch)."""
    if connection.vendor != "sqlite" or not conditions:
        return times & conditions
    conditions = _names_as_ids(conditions)
    branches = times.children if times.connector == Q.OR and not times.negated else [times]
    q = Q()
    for branch in branches:
        q |= (branch if isinstance(branch, Q) else Q(branch)) & conditions
    return q


def _names_as_ids(q: Q) -> Q:
    """``q`` with each condition on a model, skill or agent name (``model__name``,
    ``skill__name__in``...) as one on the row's id column (``model_id__in`` a subquery)."""
    children = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_names_as_ids(child))
            continue
        lookup, value = child
        field, _, rest = lookup.partition("__")
        if field in _NAME_TABLES and rest.startswith("name"):
            names = _NAME_TABLES[field].objects.filter(**{rest: value}).values("pk")
            child = (f"{field}_id__in", names)
        children.append(child)
    return Q(*children, _connector=q.connector, _negated=q.negated)


def _prefixed(q: Q, prefix: str) -> Q:
    """``q`` (on rollup rows) on records reached through ``prefix``; skill and agent names are
    on the links themselves."""
    if not prefix:
        return q
    children = [
        (name if name.startswith(("skill__", "agent__")) else f"{prefix}{name}", value)
        for name, value in q.children
    ]
    return Q(*children, _connector=q.connector, _negated=q.negated)


def _plan_for(
    window: Window, by: Sequence[str], subject: Subject, filters: RecordFilters = NO_FILTERS
) -> _Plan:
    if subject != "records" and TIME_DIMENSIONS & set(by):
        raise ValueError("skill and agent totals are not split by time")
    if not filters.by_rollups or rollup_table(subject, filters, by) is None:
        # a search (only the matching records can say), or advised by model, skill or agent
        return _Plan(days=None, hours=(), raw=((window.start, False, window.end, True),))
    return _plan(window, hourly_only="hour" in by)


def grouped_sql(
    *,
    window: Window,
    filters: RecordFilters = NO_FILTERS,
    by: Sequence[str],
    subject: Subject = "records",
    names: Q | None = None,
    columns: Sequence[str] = COUNTERS,
) -> tuple[str, list[Any]]:
    """One statement of what ``grouped_sums`` returns without buckets: a row per group with
    columns ``g_<by>...`` and then ``columns`` (COUNTERS names, "count" first; integers,
    squares as floats), groups whose count is above zero only. Asking only the columns a reader
    needs matters: summing all of COUNTERS over 20,000 rollup rows costs SQLite about three
    times as much as four of them. The rollup rows and the window's edge records (or links) are
    added up in SQL, so a reader can ORDER BY and LIMIT it (the top of 10,000 names without
    fetching them).
    ``by``: names, task type, AUTO or project (no time buckets)."""
    if not by or {"day", "hour"} & set(by):
        raise ValueError("grouped_sql groups by names, task type, AUTO or project")
    if columns[0] != "count" or not set(columns) <= set(COUNTERS):
        raise ValueError("columns: COUNTERS names, count first")
    plan = _plan_for(window, by, subject, filters)
    qn = connection.ops.quote_name
    groups = [qn(f"g_{name}") for name in by]
    parts, params = [], []
    for i, (qs, dimensions, sums, sign) in enumerate(
        _parts(
            plan, filters=filters, by=by, subject=subject, with_buckets=False, names=names, ids=True
        )
    ):
        sums = {name: sums[name] for name in columns}
        qs = qs.values(**dimensions).annotate(**sums).order_by()
        sql, part_params = qs.values_list(*dimensions, *columns).query.sql_with_params()
        values = ", ".join(f"{'-' if sign < 0 else ''}p{i}.{qn(c)} AS {qn(c)}" for c in columns)
        parts.append(f"SELECT {', '.join(f'p{i}.{g}' for g in groups)}, {values} FROM ({sql}) p{i}")
        params.extend(part_params)
    if not parts:
        parts.append(
            f"SELECT {', '.join(f'NULL AS {g}' for g in groups)}, "
            + ", ".join(f"0 AS {qn(c)}" for c in columns)
            + " WHERE 1 = 0"
        )
    real = "DOUBLE PRECISION"
    sums = ", ".join(
        f"CAST(COALESCE(SUM(u.{qn(c)}), 0) AS {real if c in SQUARE_COUNTERS else 'BIGINT'}) "
        f"AS {qn(c)}"
        for c in columns
    )
    # The parts group models, skills and agents by id (no join per row); their names are
    # joined once, to the groups.
    shown, keys, joins = [], [], []
    for name, g in zip(by, groups, strict=True):
        if name in _NAME_TABLES:
            table = qn(_NAME_TABLES[name]._meta.db_table)
            alias = qn(f"n_{name}")
            joins.append(f" INNER JOIN {table} {alias} ON {alias}.{qn('id')} = u.{g}")
            shown.append(f"{alias}.{qn('name')} AS {g}")
            keys.append(f"{alias}.{qn('id')}")
        else:
            shown.append(f"u.{g}")
            keys.append(f"u.{g}")
    sql = (
        f"SELECT {', '.join(shown)}, {sums} FROM ({' UNION ALL '.join(parts)}) u{''.join(joins)} "
        f"GROUP BY {', '.join(keys)} HAVING COALESCE(SUM(u.{qn('count')}), 0) > 0"
    )
    return sql, params


@dataclass(frozen=True)
class TopGroups:
    """The most used groups of a view and how many there are in all."""

    rows: list[tuple[str, Sequence[int]]]  # (name, sums in COUNTERS order), most used first
    groups: int  # every group with records in the view
    count: int  # their records (links for skills and agents)


def top_groups(
    *,
    window: Window,
    filters: RecordFilters = NO_FILTERS,
    by: str,
    subject: Subject = "records",
    limit: int,
    columns: Sequence[str] = COUNTERS,
) -> TopGroups:
    """The ``limit`` groups of ``by`` (a name: model, skill, agent, or project) with the most
    records, ties by name, ranked in SQL: one statement, whatever the number of names, that
    returns at most ``limit`` rows and counts the others. Only ``columns`` are summed (the
    others are 0 in the rows)."""
    qn = connection.ops.quote_name
    inner, params = grouped_sql(
        window=window, filters=filters, by=(by,), subject=subject, columns=columns
    )
    count, group = qn("count"), qn(f"g_{by}")
    sql = (
        f"SELECT g.*, COUNT(*) OVER () AS n_groups, SUM(g.{count}) OVER () AS n_records "
        f"FROM ({inner}) g ORDER BY g.{count} DESC, {text_order(f'g.{group}')} LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    return TopGroups(
        rows=[(row[0], in_counters_order(columns, row[1 : 1 + len(columns)])) for row in rows],
        groups=int(rows[0][-2]) if rows else 0,
        count=int(rows[0][-1]) if rows else 0,
    )


def in_counters_order(columns: Sequence[str], values: Sequence) -> list:
    """``values`` of ``columns`` as a COUNTERS-long list (0 for the columns not asked)."""
    if tuple(columns) == COUNTERS:
        return list(values)
    full = [0] * len(COUNTERS)
    for name, value in zip(columns, values, strict=True):
        full[COUNTERS.index(name)] = value
    return full


def text_order(expression: str) -> str:
    """``expression`` ordered as Python orders str (code points), on either database."""
    return f'{expression} COLLATE "C"' if connection.vendor == "postgresql" else expression


def _next_month(day: datetime) -> datetime:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _split_months(
    days_from: datetime | None, days_to: datetime, *, monthly: bool
) -> tuple[tuple[datetime | None, datetime] | None, list[tuple[datetime | None, datetime]]]:
    """[from, to) of whole days as (whole UTC months, the day ranges left at either end).

    Month rows stand for their days, so a long window reads a row per month instead of one per
    day; a daily series (``monthly=False``) keeps every day.
    """
    last_month = days_to.replace(day=1)
    first_month = None
    if days_from is not None:
        first_month = days_from if days_from.day == 1 else _next_month(days_from)
    if not monthly or (first_month is not None and first_month >= last_month):
        return None, [(days_from, days_to)]
    days = []
    if days_from is not None and days_from < first_month:
        days.append((days_from, first_month))
    if last_month < days_to:
        days.append((last_month, days_to))
    return (first_month, last_month), days


def _span_q(span: str, start_from: datetime | None, start_to: datetime) -> Q:
    q = Q(span=span, start__lt=start_to)
    return q & Q(start__gte=start_from) if start_from is not None else q


def _rollup_q(plan: _Plan, *, monthly: bool) -> Q:
    """The rollup rows of a plan: month, day and hour rows that never overlap."""
    q = Q()
    if plan.days is not None:
        months, days = _split_months(*plan.days, monthly=monthly)
        if months is not None:
            q |= _span_q(Span.MONTH, *months)
        for day_from, day_to in days:
            q |= _span_q(Span.DAY, day_from, day_to)
    for hour_from, hour_to in plan.hours:
        q |= _span_q(Span.HOUR, hour_from, hour_to)
    return q


def _records_in(
    ranges: Sequence[Range],
    prefix: str,
    *,
    by_time: bool = True,
    indexed: bool = True,
    records: Q | None = None,
) -> Q:
    """Rows (records, or links when ``prefix`` is "record__") whose record falls in ``ranges``
    (and, for links found by time, matches ``records``, a Q on the records).

    ``by_time`` False: the filter itself names the records (a search), so links are found from
    those records and the time is checked on each one's row. ``indexed`` False: the listed ids
    of a search drive the read, no time index may (``filters.window_q``).
    """
    if prefix and not by_time:
        return _time_q(ranges, prefix, indexed=indexed)
    q = _time_q(ranges, "", indexed=indexed)
    if prefix:
        # Links of the records in the ranges, found through the records' time index: with the
        # time condition on the joined table instead, SQLite scans every link. The records'
        # own filters go in the same subquery: on the joined record (record__task_type),
        # SQLite walked every record of the type in the history and looked each up in the list
        # (the recommendations of one type at 1M records: 135 ms, 11x their 2k time).
        q = Q(record__in=TaskRecord.objects.filter(_in_each_branch(q, records or Q())).values("pk"))
    return q


def _time_q(ranges: Sequence[Range], prefix: str, *, indexed: bool = True) -> Q:
    at = F(f"{prefix}recorded_at") if indexed else unindexed_time(f"{prefix}recorded_at")
    q = Q()
    for lo, lo_incl, hi, hi_incl in ranges:
        part = Q((LessThanOrEqual if hi_incl else LessThan)(at, hi))
        if lo is not None:
            part &= Q((GreaterThanOrEqual if lo_incl else GreaterThan)(at, lo))
        q |= part
    return q


def overall(
    *, window: Window, filters: RecordFilters = NO_FILTERS, with_buckets: bool = False
) -> Totals:
    rows = totals(window=window, filters=filters, with_buckets=with_buckets)
    return rows[0] if rows else Totals(key={})


def median_duration(
    *, window: Window, filters: RecordFilters = NO_FILTERS, total: Totals | None = None
) -> tuple[float | None, bool]:
    """(median duration in seconds, exact?) of the window's records that have a duration.

    Up to EXACT_MEDIAN_LIMIT durations it is exact, from the records; above, it is estimated from
    the duration buckets of the rollups (geometric interpolation inside the median's bucket).
    """
    total = total if total is not None and total.buckets != [0] * len(BUCKET_FIELDS) else None
    if total is None:
        total = overall(window=window, filters=filters, with_buckets=True)
    n = total.duration_count
    if n == 0:
        return None, True
    if n <= EXACT_MEDIAN_LIMIT:
        # The duration unindexed (SQLite): its range and order must not pick the (duration, id)
        # sort index, which walks that duration range of the whole history (58 ms at 200k
        # records for a week), where the (time, duration) index covers the window (7 ms).
        qs = records_in(window, filters).filter(duration_seconds__isnull=False)
        qs = qs.alias(
            d=unindexed("duration_seconds", TaskRecord._meta.get_field("duration_seconds"))
        )
        qs = qs.order_by("d")
        if sum(total.buckets) != n:  # no usable buckets: sort every duration of the window
            middle = list(qs.values_list("duration_seconds", flat=True)[(n - 1) // 2 : n // 2 + 1])
            return sum(middle) / len(middle), True
        # The buckets say which duration range holds the middle: sort only that range's rows.
        middle = _durations_at(qs, total.buckets, (n - 1) // 2, n // 2)
        return sum(middle) / len(middle), True
    return _bucket_median(total.buckets, n), False


def _durations_at(qs: QuerySet, buckets: Sequence[int], first: int, last: int) -> list[float]:
    """The durations at 0-based positions ``first..last`` in ascending order (``qs``: with the
    duration aliased ``d`` and ordered by it, as ``median_duration`` makes it), in one query that
    reads only the rows of the buckets holding those positions."""
    starts = [sum(buckets[:i]) for i in range(len(buckets))]  # durations before each bucket
    low = max(i for i, start in enumerate(starts) if start <= first and buckets[i])
    high = max(i for i, start in enumerate(starts) if start <= last and buckets[i])
    if low > 0:
        qs = qs.filter(d__gt=DURATION_BUCKETS[low - 1])
    if high < len(DURATION_BUCKETS):
        qs = qs.filter(d__lte=DURATION_BUCKETS[high])
    offset = first - starts[low]
    return list(qs.values_list("duration_seconds", flat=True)[offset : offset + last - first + 1])


def _bucket_median(buckets: Sequence[int], n: int) -> float:
    half = n / 2
    seen = 0
    bounds = (0.0, *map(float, DURATION_BUCKETS))
    for i, count in enumerate(buckets):
        if count and seen + count >= half:
            if i >= len(DURATION_BUCKETS):
                return float(DURATION_BUCKETS[-1])
            low, high = max(bounds[i], 1.0), bounds[i + 1]
            share = (half - seen) / count
            return math.exp(math.log(low) + share * (math.log(high) - math.log(low)))
        seen += count
    return float(DURATION_BUCKETS[-1])
