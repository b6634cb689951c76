"""Reads for the dashboard and the legacy JSON API.

Each panel's numbers come from ONE function taking ``(*, window, filters)`` so that its internals
can later be served from rollup tables without touching the views:

- ``kpi_figures``          -> the KPI cards (called twice: this window and ``window.previous()``)
- ``recent_records``       -> the recent-records table (keyset pages on (recorded_at, id))
- ``task_type_breakdown``  -> all nine canonical types, zero rows included
- ``model_comparison``     -> per model
- ``trend_series``         -> per hour or per day buckets

Aggregates use ``values().annotate()`` / ``aggregate()``; rows use ``select_related``. Every
function runs a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db import connection
from django.db.models import Avg, CharField, Count, Q, QuerySet
from django.db.models.functions import Cast, Substr, TruncDay, TruncHour
from django.utils import timezone

from records.classification import CANONICAL_TYPES
from records.models import AIModel, TaskRecord
from records.periods import Window, days_window
from records.scoring import PASS_THRESHOLD
from records.selectors import records_in

SOURCE_AUTO = "auto"
SOURCE_MANUAL = "manual"
SOURCES = (SOURCE_AUTO, SOURCE_MANUAL)
PAGE_SIZE = 25
MAX_PAGE_ROWS = 500
LEGACY_API_LIMIT = 50
Granularity = Literal["hour", "day"]

# Fields a table row never shows; the raw payload alone can be megabytes.
_ROW_DEFERRED = ("raw", "score_breakdown", "issues", "recommendations")


@dataclass(frozen=True)
class RecordFilters:
    """The dashboard's filters; ``None`` means "any"."""

    model: str | None = None
    task_type: str | None = None
    source: str | None = None  # SOURCE_AUTO or SOURCE_MANUAL

    def __post_init__(self) -> None:
        if self.task_type is not None and self.task_type not in CANONICAL_TYPES:
            raise ValueError(f"Unknown task type {self.task_type!r}.")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"Unknown source {self.source!r}; use auto or manual.")

    @property
    def active(self) -> bool:
        return any((self.model, self.task_type, self.source))


def filtered_records(*, window: Window, filters: RecordFilters) -> QuerySet[TaskRecord]:
    qs = records_in(window)
    if filters.model is not None:
        qs = qs.filter(model__name=filters.model)
    if filters.task_type is not None:
        qs = qs.filter(task_type=filters.task_type)
    if filters.source is not None:
        qs = qs.filter(auto_generated=filters.source == SOURCE_AUTO)
    return qs


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


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


def kpi_figures(*, window: Window, filters: RecordFilters) -> KpiFigures:
    """Totals for the KPI cards: two queries (aggregate, then the median duration)."""
    qs = filtered_records(window=window, filters=filters)
    agg = qs.aggregate(
        tasks=Count("id"),
        avg_quality=Avg("quality_score"),
        avg_pi=Avg("performance_index"),
        passed=Count("id", filter=Q(quality_score__gte=PASS_THRESHOLD)),
        auto=Count("id", filter=Q(auto_generated=True)),
        timed=Count("duration_seconds"),
    )
    return KpiFigures(
        tasks=agg["tasks"],
        avg_quality=_round(agg["avg_quality"]),
        avg_performance_index=_round(agg["avg_pi"]),
        pass_rate=_percent(agg["passed"], agg["tasks"]),
        auto_count=agg["auto"],
        manual_count=agg["tasks"] - agg["auto"],
        median_duration=_median_duration(qs, timed=agg["timed"]),
    )


def _median_duration(qs: QuerySet[TaskRecord], *, timed: int) -> float | None:
    if not timed:
        return None
    middle = (
        qs.filter(duration_seconds__isnull=False)
        .order_by("duration_seconds")
        .values_list("duration_seconds", flat=True)[(timed - 1) // 2 : timed // 2 + 1]
    )
    values = list(middle)
    return _round(sum(values) / len(values)) if values else None


# --- Recent records -----------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the (recorded_at, id) of the last row shown; the next page is older."""

    recorded_at: datetime
    id: int

    def encode(self) -> str:
        return f"{(self.recorded_at - _EPOCH) // _MICROSECOND}-{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse ``<microseconds since epoch>-<id>``; raise ValueError for anything else."""
        micros, sep, pk = value.strip().partition("-")
        if not sep or not micros.isdigit() or not pk.isdigit():
            raise ValueError("A cursor looks like 1732610000123456-42.")
        try:
            at = _EPOCH + int(micros) * _MICROSECOND
        except OverflowError as exc:
            raise ValueError("The cursor's time is out of range.") from exc
        return cls(recorded_at=at, id=int(pk))

    @classmethod
    def of(cls, record: TaskRecord) -> Cursor:
        return cls(recorded_at=record.recorded_at, id=record.pk)


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
) -> RecordPage:
    """Newest first; ``after`` continues below a cursor (keyset on (recorded_at, id), no OFFSET).

    One query: ``limit + 1`` rows are read to know whether another page exists.
    """
    limit = max(1, min(limit, MAX_PAGE_ROWS))
    qs = filtered_records(window=window, filters=filters)
    if after is not None:
        qs = qs.filter(
            Q(recorded_at__lt=after.recorded_at) | Q(recorded_at=after.recorded_at, id__lt=after.id)
        )
    rows = list(
        qs.select_related("model")
        .defer(*_ROW_DEFERRED)
        .order_by("-recorded_at", "-id")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return RecordPage(records=rows, next_cursor=Cursor.of(rows[-1]) if more else None)


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


def _grouped(qs: QuerySet[TaskRecord], key: str) -> dict[str, GroupFigures]:
    rows = (
        qs.order_by()
        .values(key)
        .annotate(
            count=Count("id"),
            avg_quality=Avg("quality_score"),
            avg_pi=Avg("performance_index"),
            ok=Count("id", filter=Q(success=True)),
            passed=Count("id", filter=Q(quality_score__gte=PASS_THRESHOLD)),
        )
    )
    return {
        row[key]: GroupFigures(
            key=row[key],
            count=row["count"],
            avg_quality=_round(row["avg_quality"]),
            avg_performance_index=_round(row["avg_pi"]),
            success_rate=_percent(row["ok"], row["count"]),
            pass_rate=_percent(row["passed"], row["count"]),
        )
        for row in rows
    }


def task_type_breakdown(*, window: Window, filters: RecordFilters) -> list[GroupFigures]:
    """All nine canonical types in canonical order; types without records have count 0."""
    found = _grouped(filtered_records(window=window, filters=filters), "task_type")
    empty = dict(avg_quality=None, avg_performance_index=None, success_rate=None, pass_rate=None)
    return [found.get(key) or GroupFigures(key=key, count=0, **empty) for key in CANONICAL_TYPES]


def model_comparison(*, window: Window, filters: RecordFilters) -> list[GroupFigures]:
    """Models with records in the view, most used first (then by name)."""
    found = _grouped(filtered_records(window=window, filters=filters), "model__name")
    return sorted(found.values(), key=lambda g: (-g.count, g.key))


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
    """Buckets that hold records, oldest first (gaps are the caller's to fill). One query."""
    bucket, to_datetime = _bucket_expression(granularity)
    rows = (
        filtered_records(window=window, filters=filters)
        .order_by()
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(
            count=Count("id"), avg_quality=Avg("quality_score"), avg_pi=Avg("performance_index")
        )
        .order_by("bucket")
    )
    return [
        TrendPoint(
            bucket=to_datetime(row["bucket"]),
            count=row["count"],
            avg_quality=_round(row["avg_quality"]),
            avg_performance_index=_round(row["avg_pi"]),
        )
        for row in rows
    ]


_SQLITE_PREFIX = {"hour": 13, "day": 10}  # "YYYY-MM-DD HH" and "YYYY-MM-DD" of the stored text


def _bucket_expression(granularity: Granularity) -> tuple[Any, Any]:
    """The SQL that names a record's bucket, and how to read it back as an aware datetime.

    Django's TruncHour/TruncDay run a Python function per row on SQLite (about 20 µs each);
    there, with the UTC zone, a prefix of the stored UTC text names the same bucket natively.
    """
    tz = timezone.get_current_timezone()
    if connection.vendor == "sqlite" and timezone.get_current_timezone_name() == "UTC":
        width = _SQLITE_PREFIX[granularity]
        fmt = "%Y-%m-%d %H" if granularity == "hour" else "%Y-%m-%d"
        return (
            Substr(Cast("recorded_at", output_field=CharField()), 1, width),
            lambda text: datetime.strptime(text, fmt).replace(tzinfo=UTC),
        )
    trunc = TruncHour if granularity == "hour" else TruncDay
    return trunc("recorded_at", tzinfo=tz), lambda value: value


# --- Lookups ------------------------------------------------------------------------------------


def model_names() -> list[str]:
    """Every model name known, for the filter's choices. One query."""
    return list(AIModel.objects.order_by("name").values_list("name", flat=True))


def record_detail(*, record_id: str) -> TaskRecord | None:
    """One record with its model, skills and agents (three queries), or None."""
    return (
        TaskRecord.objects.select_related("model")
        .prefetch_related("skills", "agents")
        .filter(record_id=record_id)
        .first()
    )


# --- Legacy JSON API ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacyRecent:
    records: list[dict[str, Any]]
    total_records: int
    auto_generated_count: int
    manual_assessment_count: int
    task_type_stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def legacy_record(record: TaskRecord) -> dict[str, Any]:
    """One record in the old tool's shape (plus Perfsite's own names beside the old ones)."""
    return {
        "assessment_id": record.record_id,
        "record_id": record.record_id,
        "timestamp": _iso(record.recorded_at),
        "task_type": record.task_type,
        "task_label": record.task_label,
        "overall_score": record.quality_score,
        "quality_score": record.quality_score,
        "performance_index": record.performance_index,
        "time_efficiency": record.time_efficiency,
        "quality_improvement": record.quality_improvement,
        "model_used": record.model.name,
        "auto_generated": record.auto_generated,
        "pass": record.passed,
        "success": record.success,
        "description": record.description,
        "complexity": record.complexity,
        "skills_used": [s.name for s in record.skills.all()],
        "agents_delegated": [a.name for a in record.agents.all()],
        "duration": record.duration_seconds,
        "files_modified": record.files_modified,
        "lines_changed": record.lines_changed,
        "issues_found": record.issues,
        "issues_count": record.issues_count,
        "recommendations": record.recommendations,
        "breakdown": record.score_breakdown,
        "source": record.source,
    }


def legacy_recent_records(
    *, days: int, now: datetime | None = None, limit: int = LEGACY_API_LIMIT
) -> LegacyRecent:
    """``/api/recent-performance-records``: the newest ``limit`` records of the last ``days``
    days in the old shape, with totals over all records of those days. Five queries."""
    qs = records_in(days_window(days, now or timezone.now()))
    totals = qs.aggregate(total=Count("id"), auto=Count("id", filter=Q(auto_generated=True)))
    stats = _grouped(qs, "task_type")
    rows = (
        qs.select_related("model")
        .prefetch_related("skills", "agents")
        .defer("raw")
        .order_by("-recorded_at", "-id")[:limit]
    )
    return LegacyRecent(
        records=[legacy_record(r) for r in rows],
        total_records=totals["total"],
        auto_generated_count=totals["auto"],
        manual_assessment_count=totals["total"] - totals["auto"],
        task_type_stats={
            key: {
                "count": g.count,
                "avg_score": g.avg_quality,
                "avg_performance_index": g.avg_performance_index,
                "success_rate": g.success_rate,
                "pass_rate": g.pass_rate,
            }
            for key, g in sorted(stats.items(), key=lambda item: (-item[1].count, item[0]))
        },
    )
