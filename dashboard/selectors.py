"""Reads for the dashboard and the legacy JSON API.

Each panel's numbers come from ONE function taking ``(*, window, filters)``; the aggregates are
read through ``records.stats.aggregates`` (day and hour rollups plus the window's two partial
hours), so their cost does not grow with the history:

- ``kpi_figures``          -> the KPI cards (called twice: this window and ``window.previous()``)
- ``recent_records``       -> the recent-records table (keyset pages on (sort column, id))
- ``task_type_breakdown``  -> all nine canonical types, zero rows included
- ``model_comparison``     -> per model: the TOP_MODELS most used, the rest counted
- ``trend_series``         -> per hour, day, week or month buckets
- ``records_span``         -> when the view's records are, whatever the period (the empty hint)

Rows use ``select_related``. Every function runs a fixed number of queries whatever the number of
rows, and none builds a statement per model, skill or agent name: lists meant for reading stop at
``TOP_MODELS`` models, whatever the number of names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, DateTimeField, F, Func, Max, Min, Q, QuerySet
from django.utils import timezone

from dashboard.cursor import DEFAULT_SORT, SORT_COLUMNS, Cursor, sort_column
from records.models import AIModel, Skill, TaskRecord
from records.rules.classification import CANONICAL_TYPES
from records.rules.periods import Granularity, Window, truncate
from records.stats.aggregates import (
    Totals,
    median_duration,
    one_decimal,
    top_groups,
    totals,
)
from records.stats.filters import (
    NO_FILTERS,
    RecordFilters,
    matching_walked,
    newest_first,
    probed,
    records_in,
    search_matches,
)
from records.stats.insights import TOP_MODELS, most_used

PAGE_SIZE = 25
MAX_PAGE_ROWS = 500

# Fields a table row never shows; the raw payload alone can be megabytes.
_ROW_DEFERRED = ("raw", "score_breakdown", "issues", "recommendations")


# --- KPIs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiFigures:
    tasks: int
    avg_quality: float | None
    avg_performance_index: float | None
    pass_rate: float | None  # percent of tasks with quality_score >= PASS_THRESHOLD
    auto_count: int
    manual_count: int
    median_duration: float | None  # seconds, over records whose duration is known
    total_cost: float | None = None  # US dollars of the tasks that have a cost
    cost_per_task: float | None = None  # mean over the tasks that have a cost
    cost_per_pass: float | None = None  # total cost over the passing tasks
    tokens_per_task: float | None = None  # mean over the tasks that have token counts


def kpi_figures(*, window: Window, filters: RecordFilters) -> KpiFigures:
    """Totals for the KPI cards: two queries, plus one for an exact median of a small window."""
    by_source = totals(window=window, filters=filters, by=("auto_generated",), with_buckets=True)
    total = Totals(key={})
    for part in by_source:
        total.merge(part)
    median, _exact = median_duration(window=window, filters=filters, total=total)
    auto = sum(part.count for part in by_source if part.key["auto_generated"])
    return KpiFigures(
        tasks=total.count,
        avg_quality=one_decimal(total.avg_quality),
        avg_performance_index=one_decimal(total.avg_performance),
        pass_rate=one_decimal(total.pass_rate),
        auto_count=auto,
        manual_count=total.count - auto,
        median_duration=one_decimal(median),
        total_cost=total.total_cost,
        cost_per_task=total.cost_per_task,
        cost_per_pass=total.cost_per_pass,
        tokens_per_task=total.tokens_per_task,
    )


# --- Recent records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordPage:
    records: list[TaskRecord]
    next_cursor: Cursor | None  # None: nothing older in the view


def recent_records(
    *,
    window: Window,
    filters: RecordFilters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    sort: str = DEFAULT_SORT,
) -> RecordPage:
    """The view's records in ``sort`` order (newest first by default); ``after`` continues
    below a cursor of the same sort (keyset on (sort column, id), no OFFSET).

    One query: ``limit + 1`` rows are read to know whether another page exists. A column that
    may be NULL is read in two parts, the known values and then the NULLs, each in an order its
    index serves on both databases (an index puts NULLs first on SQLite and last on PostgreSQL,
    so "NULLs last" in one statement is a sort of the whole window on one of them): two queries
    on the page where the known values end.
    """
    limit = max(1, min(limit, MAX_PAGE_ROWS))
    field = SORT_COLUMNS[sort_column(sort)[0]][0]

    def read(part: str, position: Cursor | None, count: int, *, page: bool = True) -> list:
        qs = sorted_records(
            window=window, filters=filters, sort=sort, after=position, part=part, page=page
        )
        rows = list(qs.select_related("model").defer(*_ROW_DEFERRED)[:count])
        if page and len(rows) < count and sort == DEFAULT_SORT and probed(filters):
            return read(part, position, count, page=False)  # past the newest records
        return rows

    if not _nullable(field):
        rows = read("all", after, limit + 1)
    else:
        rows = []
        if after is None or after.value is not None:
            rows = read("known", after, limit + 1)
        if len(rows) <= limit:
            position = after if after is not None and after.value is None else None
            rows += read("null", position, limit + 1 - len(rows))
    more = len(rows) > limit
    rows = rows[:limit]
    return RecordPage(records=rows, next_cursor=Cursor.of(rows[-1], sort) if more else None)


class _Unindexed(Func):
    """``+column`` (SQLite): the same value, but no index on the column may serve the term."""

    template = "+%(expressions)s"


def _nullable(field: str) -> bool:
    return "__" not in field and TaskRecord._meta.get_field(field).null


def sorted_records(
    *,
    window: Window,
    filters: RecordFilters,
    sort: str = DEFAULT_SORT,
    after: Cursor | None = None,
    part: str = "all",
    page: bool = False,
) -> QuerySet[TaskRecord]:
    """The view's records in ``sort`` order, after ``after`` when given: the rows of the
    recent-records table (``page``: the caller reads a few rows, see newest_first) and of the
    page's export.

    The order is (column, id), both ascending or both descending, with NULLs last in either
    direction on every database, so a page boundary inside the NULLs is a plain id bound.
    ``part`` "known" or "null" keeps only the rows whose column is known or NULL.
    """
    column, descending = sort_column(sort)
    field = SORT_COLUMNS[column][0]
    if sort == DEFAULT_SORT or connection.vendor != "sqlite":
        qs = records_in(window, filters)
    else:
        # SQLite keeps no statistics: it would read the whole window through the time index
        # and sort it, where walking the sort column's index finds a page at once. "+column"
        # takes the time index out of its choice; the filters' own indexes stay in it.
        at = _Unindexed(F("recorded_at"), output_field=DateTimeField())
        searched = filters.search is not None and filters.searched is None
        unsearched = replace(filters, search=None) if searched else filters
        qs = TaskRecord.objects.alias(at=at).filter(at__lte=window.end).filter(unsearched.q())
        if window.start is not None:
            qs = qs.filter(at__gt=window.start)
        if searched:  # a broad search is checked as the sort column's index is walked
            qs = matching_walked(qs, filters.search)
    if sort == DEFAULT_SORT:  # the (recorded_at, id) index, as ever
        qs = newest_first(window, filters, page=page)  # a broad search walks it too
        if after is not None:
            qs = qs.filter(
                Q(recorded_at__lt=after.value) | Q(recorded_at=after.value, id__lt=after.id)
            )
        return qs
    if after is not None and after.sort != sort:
        raise ValueError(f"A cursor of sort {after.sort!r} cannot continue sort {sort!r}.")
    beyond = "lt" if descending else "gt"
    if part == "null":
        qs = qs.filter(**{f"{field}__isnull": True})
        if after is not None:
            qs = qs.filter(**{f"id__{beyond}": after.id})
        return qs.order_by("-id" if descending else "id")
    nullable = _nullable(field)
    if part == "known" and nullable:
        qs = qs.filter(**{f"{field}__isnull": False})
    if after is not None:
        if after.value is None:  # only NULLs are left
            qs = qs.filter(**{f"{field}__isnull": True, f"id__{beyond}": after.id})
        else:
            later = Q(**{f"{field}__{beyond}": after.value}) | Q(
                **{field: after.value, f"id__{beyond}": after.id}
            )
            if nullable and part == "all":
                later |= Q(**{f"{field}__isnull": True})
            qs = qs.filter(later)
    if part == "known" or not nullable:  # no NULL among the rows: the index's own order
        return qs.order_by(f"-{field}", "-id") if descending else qs.order_by(field, "id")
    if descending:
        return qs.order_by(F(field).desc(nulls_last=True), F("id").desc())
    return qs.order_by(F(field).asc(nulls_last=True), F("id").asc())


# --- Breakdowns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupFigures:
    """Figures for one task type or one model."""

    key: str
    count: int
    avg_quality: float | None
    avg_performance_index: float | None
    success_rate: float | None  # percent of tasks whose ``success`` is true
    pass_rate: float | None  # percent with quality_score >= PASS_THRESHOLD
    cost_per_task: float | None = None  # US dollars, mean over the tasks that have a cost
    cost_per_pass: float | None = None  # total cost over the passing tasks
    tokens_per_task: float | None = None  # mean over the tasks that have token counts


def _figures(total: Totals, key: str) -> GroupFigures:
    return GroupFigures(
        key=key,
        count=total.count,
        avg_quality=one_decimal(total.avg_quality),
        avg_performance_index=one_decimal(total.avg_performance),
        success_rate=one_decimal(total.success_rate),
        pass_rate=one_decimal(total.pass_rate),
        cost_per_task=total.cost_per_task,
        cost_per_pass=total.cost_per_pass,
        tokens_per_task=total.tokens_per_task,
    )


def _grouped(*, window: Window, filters: RecordFilters, by: str) -> dict[str, GroupFigures]:
    rows = totals(window=window, filters=filters, by=(by,))
    return {row.key[by]: _figures(row, row.key[by]) for row in rows}


def task_type_breakdown(*, window: Window, filters: RecordFilters) -> list[GroupFigures]:
    """All nine canonical types in canonical order; types without records have count 0."""
    found = _grouped(window=window, filters=filters, by="task_type")
    empty = dict(avg_quality=None, avg_performance_index=None, success_rate=None, pass_rate=None)
    return [found.get(key) or GroupFigures(key=key, count=0, **empty) for key in CANONICAL_TYPES]


@dataclass(frozen=True)
class ModelComparison:
    rows: list[GroupFigures]  # the TOP_MODELS most used models of the view, most used first
    more_models: int  # models with records in the view that are not in ``rows``
    more_tasks: int  # their tasks

    @property
    def total(self) -> int:
        return sum(g.count for g in self.rows) + self.more_tasks


def model_comparison(*, window: Window, filters: RecordFilters) -> ModelComparison:
    """The most used models of the view (then by name), at most TOP_MODELS; the others counted.

    One statement ranks the models in SQL (``top_groups``: ORDER BY count, LIMIT TOP_MODELS) and
    counts the rest, so 10,000 models bring back TOP_MODELS rows, not 10,000.
    """
    top = top_groups(window=window, filters=filters, by="model", limit=TOP_MODELS)
    shown = sum(values[0] for _, values in top.rows)  # [0]: count
    return ModelComparison(
        rows=[_figures(Totals({"model": name}, *values), name) for name, values in top.rows],
        more_models=top.groups - len(top.rows),
        more_tasks=top.count - shown,
    )


# --- Trend --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    bucket: datetime  # start of the hour or day, in the current time zone
    count: int
    avg_quality: float | None
    avg_performance_index: float | None


def trend_series(
    *, window: Window, filters: RecordFilters, granularity: Granularity
) -> list[TrendPoint]:
    """Buckets that hold records, oldest first (gaps are the caller's to fill). Two queries.

    Buckets are of the current time zone. When that zone is UTC, days and weeks are sums of
    the day rollups, and months and years sums of the month rollups; in any other zone, hours
    fold into the reader's days, weeks (from Monday), months and years.
    """
    utc = timezone.get_current_timezone_name() == "UTC"
    dimension = "hour"
    if utc and granularity in ("day", "week"):
        dimension = "day"
    elif utc and granularity in ("month", "year"):
        dimension = "month"
    rows = totals(window=window, filters=filters, by=(dimension,))
    zone = timezone.get_current_timezone()
    buckets: dict[datetime, Totals] = {}
    for row in rows:
        at = row.key[dimension]
        # Hours stay as stored; hours (or UTC days and months) fold into the reader's buckets.
        at = timezone.localtime(at) if granularity == "hour" else truncate(at, granularity, tz=zone)
        buckets.setdefault(at, Totals(key={})).merge(row)
    return [
        TrendPoint(
            bucket=at,
            count=total.count,
            avg_quality=one_decimal(total.avg_quality),
            avg_performance_index=one_decimal(total.avg_performance),
        )
        for at, total in sorted(buckets.items())
    ]


@dataclass(frozen=True)
class RecordsSpan:
    count: int
    first: datetime
    last: datetime


def records_span(*, filters: RecordFilters) -> RecordsSpan | None:
    """How many records match ``filters`` in all, and the first and last one's time; None when
    none does. Three queries: both ends through a time index, the count from the rollups; one
    for a search, over its matches (``search_matches``)."""
    if filters.search is not None and filters.searched is None:
        found = search_matches(filters).aggregate(
            count=Count("pk"), first=Min("recorded_at"), last=Max("recorded_at")
        )
        if not found["count"]:
            return None
        return RecordsSpan(count=found["count"], first=found["first"], last=found["last"])
    qs = filters.records().filter(filters.q())
    first = qs.order_by("recorded_at", "id").values_list("recorded_at", flat=True).first()
    if first is None:
        return None
    last = qs.order_by("-recorded_at", "-id").values_list("recorded_at", flat=True).first()
    assert last is not None
    everything = Window(start=first - timedelta(microseconds=1), end=last)
    count = sum(row.count for row in totals(window=everything, filters=filters))
    return RecordsSpan(count=count, first=first, last=last)


def first_record_at(*, filters: RecordFilters) -> datetime | None:
    """When the oldest record matching ``filters`` was recorded (an "all time" trend starts
    there). One query, through a time index."""
    qs = filters.records().filter(filters.q()).order_by("recorded_at", "id")
    return qs.values_list("recorded_at", flat=True).first()


# --- Lookups ------------------------------------------------------------------------------------


# The model filter offers the models of this many newest records (their TOP_MODELS most used).
RECENT_USE_RECORDS = 1_000


@dataclass(frozen=True)
class FilterChoices:
    models: list[str]
    projects: list[str]


def filter_choices(
    *, selected_model: str | None = None, selected_project: str | None = None
) -> FilterChoices:
    """The model and project filters' choices, by name: the TOP_MODELS models (and projects;
    records without one left out) most used among the RECENT_USE_RECORDS newest records, plus
    the selected ones. One query, read through the records' time index, whatever the number of
    names (at most RECENT_USE_RECORDS groups come back); ``?model=`` and ``?project=`` still
    take any stored name (``model_exists``, ``project_exists``)."""
    newest = TaskRecord.objects.order_by("-recorded_at", "-id").values("pk")[:RECENT_USE_RECORDS]
    groups = (
        TaskRecord.objects.filter(pk__in=newest)
        .values("model__name", "project")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("model__name", "project", "n")
    )
    models: Counter[str] = Counter()
    projects: Counter[str] = Counter()
    for model, project, n in groups:
        models[model] += n
        if project:
            projects[project] += n
    model_names = set(most_used(models))
    project_names = set(most_used(projects))
    if selected_model:
        model_names.add(selected_model)
    if selected_project:
        project_names.add(selected_project)
    return FilterChoices(models=sorted(model_names), projects=sorted(project_names))


def model_choices(*, selected: str | None = None) -> list[str]:
    """The model filter's choices (``filter_choices``)."""
    return filter_choices(selected_model=selected).models


def project_exists(name: str) -> bool:
    """Whether a record names the project ``name`` (validates ``?project=``). One query, on the
    partial (project, recorded_at) index."""
    return TaskRecord.objects.filter(project=name).exclude(project="").exists()


def model_exists(name: str) -> bool:
    """Whether a model is called ``name`` (validates ``?model=``). One query."""
    return AIModel.objects.filter(name=name).exists()


def skill_exists(name: str) -> bool:
    """Whether a skill is called ``name`` (validates ``skill:`` slices). One query."""
    return Skill.objects.filter(name=name).exists()


# --- Compare ------------------------------------------------------------------------------------


def slice_totals(
    *,
    window: Window,
    filters: RecordFilters,
    skill: str | None = None,
    skill_present: bool = True,
    advised: bool | None = None,
) -> dict[str, Totals]:
    """One side of /compare/: its totals per task type (types without records absent).

    From the rollups: two queries, plus up to three for a skill. The records *with* a skill
    are the skill rollups' totals; those *without* it are the side's totals minus those
    (every field is a sum, so the difference is exact). ``advised`` (True: the records whose
    agent was given Perfsite's advice, False: the others) reads TypeRollup's advised key (the
    records themselves under a model filter, which TypeRollup cannot answer).
    """
    if advised is not None:
        filters = replace(filters, advised=advised)
    rows = {
        t.key["task_type"]: t for t in totals(window=window, filters=filters, by=("task_type",))
    }
    if advised is not None or skill is None:
        return rows
    with_skill = {
        t.key["task_type"]: t
        for t in totals(
            window=window, filters=filters, by=("task_type",), subject="skills", name=skill
        )
    }
    if skill_present:
        return with_skill
    for task_type, part in with_skill.items():
        if task_type in rows:
            rows[task_type].subtract(part)
    return {task_type: t for task_type, t in rows.items() if t.count > 0}


def record_detail(*, record_id: str) -> TaskRecord | None:
    """One record with its model, skills and agents (three queries), or None."""
    return (
        TaskRecord.objects.select_related("model")
        .prefetch_related("skills", "agents")
        .filter(record_id=record_id)
        .first()
    )


SESSION_TURNS = 25  # shown on each side of the record


def session_records(*, record: TaskRecord, around: int = SESSION_TURNS) -> list[TaskRecord]:
    """The turns of ``record``'s session in time order: up to ``around`` before it, the record,
    and up to ``around`` after it; empty when the record names no session. Two queries on the
    (session_id, recorded_at) index, whatever the session's length."""
    if not record.session_id:
        return []
    fields = ("record_id", "recorded_at", "description", "task_label", "task_type")
    # The exclude repeats the partial index's condition, so the database knows it may use it.
    turns = TaskRecord.objects.filter(session_id=record.session_id).exclude(session_id="")
    turns = turns.only(*fields, "quality_score", "cost_usd")
    at = Q(recorded_at=record.recorded_at)
    before = turns.filter(Q(recorded_at__lt=record.recorded_at) | at & Q(id__lt=record.pk))
    after = turns.filter(Q(recorded_at__gt=record.recorded_at) | at & Q(id__gte=record.pk))
    earlier = list(before.order_by("-recorded_at", "-id")[:around])
    later = list(after.order_by("recorded_at", "id")[: around + 1])
    return earlier[::-1] + later


# --- Newest records with counts (the legacy JSON API) ------------------------------------------


@dataclass(frozen=True)
class NewestRecords:
    records: list[TaskRecord]  # newest first, at most ``limit``, with model, skills and agents
    total: int  # every record of the window
    auto_count: int
    by_type: list[GroupFigures]  # task types with records in the window, unordered


def newest_records(*, window: Window, limit: int) -> NewestRecords:
    """The newest ``limit`` records of ``window`` and counts over all of its records. At most
    seven queries: two per total (rollups and edges), the rows, their skills and their agents."""
    by_source = totals(window=window, by=("auto_generated",))
    rows = (
        records_in(window)
        .select_related("model")
        .prefetch_related("skills", "agents")
        .defer("raw")
        .order_by("-recorded_at", "-id")[:limit]
    )
    return NewestRecords(
        records=list(rows),
        total=sum(part.count for part in by_source),
        auto_count=sum(part.count for part in by_source if part.key["auto_generated"]),
        by_type=list(_grouped(window=window, filters=NO_FILTERS, by="task_type").values()),
    )


def newest_of_all(*, limit: int) -> tuple[list[TaskRecord], int]:
    """The newest ``limit`` records of all time with their payloads (the old tool's JSON reads
    them), and how many records there are. Four queries."""
    span = records_span(filters=NO_FILTERS)
    rows = TaskRecord.objects.select_related("model").order_by("-recorded_at", "-id")[:limit]
    return list(rows), 0 if span is None else span.count
