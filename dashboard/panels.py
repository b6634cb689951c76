"""One context builder per dashboard panel, shared by the full page and ``/fragments/<panel>/``.

Builders take a validated ``DashboardQuery``, ask ``dashboard.selectors`` for numbers and
return plain values ready to print: templates only loop and branch, they never compute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from dashboard import selectors as sel
from dashboard.alerts import alerts_banner_context
from dashboard.cursor import DEFAULT_SORT, sort_column
from dashboard.formatting import (
    DASH,
    MINUS,
    fmt_cost,
    fmt_count,
    fmt_duration,
    fmt_number,
    fmt_percent,
    fmt_signed,
    heat_class,
    iso_utc,
    score_tone,
    trend_label,
    utc_text,
)
from dashboard.forms import ORIGIN_LABELS, PERIOD_LABELS, DashboardQuery, range_text
from dashboard.links import (
    compare_url,
    export_url,
    fragment_url,
    page_url,
    panel_urls,
    record_url,
)
from records.models import TASK_TYPE_CHOICES, TaskRecord
from records.rules.confidence import MIN_TASKS
from records.rules.periods import (
    DEFAULT_PERIOD,
    PERIODS,
    Granularity,
    Window,
    bucket_starts,
    granularity_for,
)
from records.rules.scoring import PASS_THRESHOLD
from records.stats.insights import MIN_EVIDENCE, TOP_MODELS, Entry, task_insights
from records.stats.search import MAX_SEARCH
from records.stats.searched import FigureFilters, figure_filters, figure_filters_pair

# --- KPIs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    text: str  # "+2.1 pts", "+12 (+15%)"
    direction: str  # up, down, flat
    tone: str  # good, bad, neutral
    title: str  # what it is compared with


@dataclass(frozen=True)
class KpiCard:
    key: str
    label: str
    value: str
    hint: str
    delta: Delta | None


def delta(
    current: float | None,
    previous: float | None,
    *,
    unit: str = "pts",
    digits: int = 1,
    higher_is_better: bool | None = True,
    relative: bool = False,
    previous_text: str = "",
    magnitude: Callable[[float], str] | None = None,
) -> Delta | None:
    """The change from ``previous`` to ``current``; None when either is unknown."""
    if current is None or previous is None:
        return None
    diff = current - previous
    direction = "flat" if abs(diff) < 10 ** (-digits) / 2 else ("up" if diff > 0 else "down")
    if direction == "flat":
        text = "no change"
    elif magnitude is not None:
        text = ("+" if diff > 0 else MINUS) + magnitude(abs(diff))
    elif relative:
        if previous:
            text = f"{fmt_signed(diff, digits)} ({fmt_signed(100 * diff / previous, 0)}%)"
        else:
            text = fmt_signed(diff, digits)
    else:
        text = f"{fmt_signed(diff, digits)} {unit}".rstrip()
    if direction == "flat" or higher_is_better is None:
        tone = "neutral"
    else:
        tone = "good" if (direction == "up") == higher_is_better else "bad"
    return Delta(text=text, direction=direction, tone=tone, title=previous_text)


def _length_label(query: DashboardQuery) -> str:
    """The view's length as the KPI comparison names it: "7 days", or a custom range's days."""
    if query.first_day is not None and query.last_day is not None:
        days = (query.last_day - query.first_day).days + 1
        return f"{days} day{'s' if days != 1 else ''}"
    return PERIOD_LABELS[query.period]


def cost_hint(figures: sel.KpiFigures) -> str:
    """The cost card's note: the period's total and the mean per task, or why there is none."""
    tokens = (
        ""
        if figures.tokens_per_task is None
        else f"; {fmt_count(round(figures.tokens_per_task))} tokens per task"
    )
    if figures.total_cost is None:
        return f"no task has a cost{tokens}"
    return (
        f"{fmt_cost(figures.total_cost)} in all, {fmt_cost(figures.cost_per_task)} per task{tokens}"
    )


def figures_of(query: DashboardQuery, window: Window | None = None) -> FigureFilters:
    """The filters the figures of ``window`` (the view's by default) are read with: a search's
    newest SEARCH_CAP matches (records.stats.filters), found once per request and window for
    every panel."""
    window = query.window if window is None else window
    found = query.memo.get(("figures", window))
    if found is not None:
        return found
    previous = query.window.previous()
    paired = previous is not None and window in (query.window, previous)
    if paired and ("figures", query.window) not in query.memo:  # both at once where it pays
        now, before = figure_filters_pair(query.window, previous, query.filters)
        query.memo[("figures", query.window)] = now
        if before is not None:
            query.memo[("figures", previous)] = before
        found = query.memo.get(("figures", window))
    if found is None:
        found = query.memo[("figures", window)] = figure_filters(window, query.filters)
    return found


def cap_note(query: DashboardQuery) -> str:
    """What the page says when a search's figures are those of its newest matches only."""
    found = figures_of(query)
    if not found.capped:
        return ""
    cap = fmt_count(found.cap)
    return (
        f"More than {cap} records match: figures from the newest {cap} matches. "
        "The list of records and the export have them all."
    )


def kpis_context(query: DashboardQuery) -> dict[str, Any]:
    window = query.window
    now = sel.kpi_figures(window=window, filters=figures_of(query).filters)
    previous_window = window.previous()
    before = (
        sel.kpi_figures(window=previous_window, filters=figures_of(query, previous_window).filters)
        if previous_window is not None
        else None
    )
    previous = f"previous {_length_label(query)}"

    def was(text: str) -> str:
        return f"{previous.capitalize()}: {text}"

    def auto_manual(figures: sel.KpiFigures) -> str:
        return f"{fmt_count(figures.auto_count)} / {fmt_count(figures.manual_count)}"

    def change(attr: str, fmt: Callable[[Any], str], **kw: Any) -> Delta | None:
        if before is None:
            return None
        old = getattr(before, attr)
        return delta(getattr(now, attr), old, previous_text=was(fmt(old)), **kw)

    auto_share = 100.0 * now.auto_count / now.tasks if now.tasks else None
    share_change = None
    if before is not None and before.tasks and auto_share is not None:
        before_share = 100.0 * before.auto_count / before.tasks
        share_change = delta(
            auto_share,
            before_share,
            unit="pts AUTO",
            higher_is_better=None,
            previous_text=was(auto_manual(before)),
        )

    def card(attr: str, label: str, fmt: Callable[[Any], str], hint: str, **kw: Any) -> KpiCard:
        """The card of ``now.<attr>``, printed with ``fmt`` and compared with ``before``."""
        value = fmt(getattr(now, attr))
        key = attr.replace("_", "-")
        return KpiCard(key=key, label=label, value=value, hint=hint, delta=change(attr, fmt, **kw))

    period = query.period_label if query.custom else query.period_label.lower()
    cards = [
        card("tasks", "Tasks", fmt_count, period, digits=0, relative=True, higher_is_better=None),
        card("avg_quality", "Avg quality", fmt_number, "quality score, 0\u2013100"),
        card(
            "avg_performance_index",
            "Avg performance index",
            fmt_number,
            "quality, speed and success",
        ),
        card("pass_rate", "Pass rate", fmt_percent, f"quality ≥ {PASS_THRESHOLD:.0f}"),
        KpiCard(
            key="auto-manual",
            label="AUTO vs manual",
            value=auto_manual(now),
            hint=f"{fmt_percent(auto_share)} recorded automatically"
            if auto_share is not None
            else "no tasks",
            delta=share_change,
        ),
        card(
            "median_duration",
            "Median duration",
            fmt_duration,
            "per task",
            digits=0,
            higher_is_better=False,
            magnitude=fmt_duration,
        ),
        card(
            "cost_per_pass",
            "Cost per passing task",
            fmt_cost,
            cost_hint(now),
            digits=4,
            higher_is_better=False,
            magnitude=fmt_cost,
        ),
    ]
    return {
        "cards": cards,
        "compare_label": f"vs {previous}" if before is not None else "",
        "tasks": now.tasks,
        "cap_note": cap_note(query),
    }


# --- Recent records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRow:
    record_id: str
    url: str
    iso: str
    time_text: str
    task_type: str
    task_label: str  # shown only when it differs from the canonical type
    description: str
    model: str
    quality: str
    quality_tone: str
    performance_index: str
    time_efficiency: str
    duration: str
    passed: bool
    success: bool
    auto: bool

    @classmethod
    def of(cls, record: TaskRecord) -> RecordRow:
        return cls(
            record_id=record.record_id,
            url=record_url(record.record_id),
            iso=iso_utc(record.recorded_at),
            time_text=utc_text(record.recorded_at),
            task_type=record.task_type,
            task_label=record.task_label if record.task_label != record.task_type else "",
            description=record.description,
            model=record.model.name,
            quality=fmt_number(record.quality_score),
            quality_tone=score_tone(record.quality_score),
            performance_index=fmt_number(record.performance_index),
            time_efficiency=fmt_number(record.time_efficiency),
            duration=fmt_duration(record.duration_seconds),
            passed=record.passed,
            success=record.success,
            auto=record.auto_generated,
        )


@dataclass(frozen=True)
class SortHeader:
    """A table's column header: a link that sorts by it (None for columns that do not sort)."""

    label: str
    css: str
    href: str | None  # the page sorted by this column (the other way when it already is)
    aria_sort: str  # "ascending", "descending" or "" (not the sorted column)
    title: str = ""  # what the column holds, when the label is short
    hidden_label: str = ""  # for screen readers, when the column shows no label


def _sort_header(
    label: str,
    css: str,
    column: str | None,
    *,
    current: str | None,
    href: Callable[[str], str],
    title: str = "",
) -> SortHeader:
    if column is None:
        hidden = {"col-share": "Share of tasks", "col-compare": "Compare"}.get(css, "")
        return SortHeader(
            label=label, css=css, href=None, aria_sort="", title=title, hidden_label=hidden
        )
    if current == column:
        aria, next_sort = "ascending", f"-{column}"
    elif current == f"-{column}":
        aria, next_sort = "descending", column
    else:  # first click: names A to Z, numbers and times highest first
        aria, next_sort = "", column if column in {"task_type", "model", "name"} else f"-{column}"
    return SortHeader(label=label, css=css, href=href(next_sort), aria_sort=aria, title=title)


# The recent-records columns: (header, CSS classes, ?sort= column or None)
RECORD_COLUMNS = (
    ("Time", "", "recorded_at"),
    ("Task", "", "task_type"),
    ("Description", "", None),
    ("Model", "", "model"),
    ("Quality", "num", "quality_score"),
    ("Perf. index", "num", "performance_index"),
    ("Time eff.", "num col-opt", "time_efficiency"),
    ("Duration", "num col-opt", "duration_seconds"),
    ("Result", "", None),
)


def _sort_caption(sort: str) -> str:
    column, descending = sort_column(sort)
    if column == "recorded_at":
        return "newest first" if descending else "oldest first"
    name = dict((c, label) for label, _, c in RECORD_COLUMNS if c)[column].lower()
    if column in {"task_type", "model"}:
        return f"by {name}, {'Z to A' if descending else 'A to Z'}"
    return f"by {name}, {'highest' if descending else 'lowest'} first (unknown last)"


def recent_records_context(query: DashboardQuery) -> dict[str, Any]:
    page = sel.recent_records(
        window=query.window,
        filters=query.filters,
        after=query.cursor,
        limit=query.rows if query.cursor is None else sel.PAGE_SIZE,
        sort=query.sort,
    )
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    return {
        "rows": [RecordRow.of(r) for r in page.records],
        "more_url": fragment_url("recent-records", query, cursor=next_cursor)
        if next_cursor
        else "",
        "more_href": page_url(query, cursor=next_cursor) + "#recent-records" if next_cursor else "",
        "page_size": sel.PAGE_SIZE,
        "at_cursor": query.cursor is not None,
        "newest_href": page_url(query) + "#recent-records",
        "filtered": query.filters.active,
        "headers": [
            _sort_header(
                label,
                css,
                column,
                current=query.sort,
                href=lambda sort: page_url(query, sort=None if sort == DEFAULT_SORT else sort),
            )
            for label, css, column in RECORD_COLUMNS
        ],
        "order": _sort_caption(query.sort),
        "exports": export_links(query),
    }


def export_links(query: DashboardQuery) -> list[tuple[str, str]]:
    """(label, URL) of the downloads of the view's records."""
    return [
        (label, export_url(query, fmt)) for fmt, label in (("csv", "CSV"), ("jsonl", "JSON Lines"))
    ]


# --- Task types and models ----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    key: str
    label: str
    count: int
    share: float  # percent of the view's tasks, for the inline bar
    avg_quality: str
    quality_tone: str
    success_rate: str
    avg_performance_index: str
    cost_per_task: str
    cost_per_pass: str
    href: str
    selected: bool
    compare_href: str = ""  # /compare/ of this row with another (see the panel builders)
    compare_title: str = ""


def _group_rows(
    groups: list[sel.GroupFigures],
    query: DashboardQuery,
    *,
    param: str,
    selected: str | None,
    total: int | None = None,
) -> list[GroupRow]:
    """``total``: the view's tasks the shares are of (default: the rows' own)."""
    total = sum(g.count for g in groups) if total is None else total
    return [
        GroupRow(
            key=g.key,
            label=g.key.capitalize() if param == "task_type" else g.key,
            count=g.count,
            share=round(100.0 * g.count / total, 1) if total else 0.0,
            avg_quality=fmt_number(g.avg_quality),
            quality_tone=score_tone(g.avg_quality),
            success_rate=fmt_percent(g.success_rate),
            avg_performance_index=fmt_number(g.avg_performance_index),
            cost_per_task=fmt_cost(g.cost_per_task),
            cost_per_pass=fmt_cost(g.cost_per_pass),
            href=page_url(query, **{param: g.key}),
            selected=g.key == selected,
        )
        for g in groups
    ]


def _sorted_groups(groups: list[sel.GroupFigures], sort: str | None) -> list[sel.GroupFigures]:
    """``groups`` in a table's ``?type_sort=`` / ``?model_sort=`` order (unknown figures last,
    then by name); as given without one."""
    if sort is None:
        return groups
    column, descending = sort_column(sort)
    attr = "key" if column == "name" else column
    known = [g for g in groups if getattr(g, attr) is not None]
    unknown = [g for g in groups if getattr(g, attr) is None]
    known.sort(key=lambda g: g.key)
    known.sort(key=lambda g: getattr(g, attr), reverse=descending)
    return known + sorted(unknown, key=lambda g: g.key)


def _group_headers(query: DashboardQuery, *, param: str, heading: str) -> list[SortHeader]:
    current = getattr(query, param)
    columns = [(heading, "", "name", ""), ("Tasks", "num", "count", "")]
    if param == "type_sort":
        columns.append(("", "col-share", None, ""))
    columns += [
        ("Avg quality", "num", "avg_quality", ""),
        ("Success", "num", "success_rate", ""),
        ("Perf. index", "num", "avg_performance_index", ""),
        ("Cost / task", "num", "cost_per_task", "Mean cost of the tasks that have one"),
        ("Cost / pass", "num", "cost_per_pass", "Total cost over the passing tasks"),
        ("", "col-compare", None, ""),
    ]
    return [
        _sort_header(
            label,
            css,
            column,
            current=current,
            href=lambda sort: page_url(query, **{param: sort}),
            title=title,
        )
        for label, css, column, title in columns
    ]


def _with_compare(rows: list[GroupRow], links: dict[str, tuple[str, str]]) -> list[GroupRow]:
    """``rows`` with the compare link of each key in ``links`` ({key: (href, title)})."""
    return [
        replace(row, compare_href=links[row.key][0], compare_title=links[row.key][1])
        if row.key in links
        else row
        for row in rows
    ]


def _previous_period_links(
    groups: list[sel.GroupFigures], query: DashboardQuery
) -> dict[str, tuple[str, str]]:
    """Each task type with tasks: this period against the one before, for that type."""
    if query.period == "all":
        return {}
    a, b = f"period:{query.period}", f"period:prev{query.period}"
    label = PERIOD_LABELS[query.period].lower()
    return {
        g.key: (
            compare_url(query, a=a, b=b, task_type=g.key),
            f"Compare {g.key} in the last {label} with the {label} before",
        )
        for g in groups
        if g.count
    }


def best_model_links(
    groups: list[sel.GroupFigures], query: DashboardQuery
) -> dict[str, tuple[str, str]]:
    """Each shown model against the best one (the highest performance index among models with
    MIN_TASKS tasks, else the most used); the best one against the runner-up."""
    if len(groups) < 2:
        return {}
    supported = [g for g in groups if g.count >= MIN_TASKS] or groups
    ranked = sorted(
        supported,
        key=lambda g: -(g.avg_performance_index if g.avg_performance_index is not None else -1),
    )
    best = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else next(g for g in groups if g is not best)
    links = {}
    for g in groups:
        other = runner_up if g is best else best
        links[g.key] = (
            compare_url(query, a=f"model:{g.key}", b=f"model:{other.key}", model=None),
            f"Compare {g.key} with {other.key}"
            + (" (the runner-up)" if g is best else " (the best model)"),
        )
    return links


def task_types_context(query: DashboardQuery) -> dict[str, Any]:
    groups = sel.task_type_breakdown(window=query.window, filters=figures_of(query).filters)
    rows = _group_rows(
        _sorted_groups(groups, query.type_sort),
        query,
        param="task_type",
        selected=query.filters.task_type,
    )
    return {
        "rows": _with_compare(rows, _previous_period_links(groups, query)),
        "headers": _group_headers(query, param="type_sort", heading="Task type"),
        "total": sum(g.count for g in groups),
        "clear_href": page_url(query, task_type=None) if query.filters.task_type else "",
    }


def more_models_text(more_models: int, more_tasks: int | None = None) -> str:
    """The note on models left out, e.g. "and 9,988 more models"; "" when none is."""
    if not more_models:
        return ""
    text = f"and {fmt_count(more_models)} more model{'s' if more_models != 1 else ''}"
    if more_tasks is not None:
        text += f" with {fmt_count(more_tasks)} task{'s' if more_tasks != 1 else ''}"
    return text


def models_context(query: DashboardQuery) -> dict[str, Any]:
    comparison = sel.model_comparison(window=query.window, filters=figures_of(query).filters)
    groups = comparison.rows
    rows = _group_rows(
        _sorted_groups(groups, query.model_sort),
        query,
        param="model",
        selected=query.filters.model,
        total=comparison.total,
    )
    options = [{"value": f"model:{g.key}", "label": g.key} for g in groups]
    return {
        "rows": _with_compare(rows, best_model_links(groups, query)),
        "headers": _group_headers(query, param="model_sort", heading="Model"),
        "picker": {
            "options": options,
            "b_default": options[1]["value"] if len(options) > 1 else "",
            "hidden": sorted(query.params(model=None).items()),
        }
        if len(options) > 1
        else None,
        "more_models": comparison.more_models,
        "more_text": more_models_text(comparison.more_models, comparison.more_tasks),
        "top_models": TOP_MODELS,
        "chart": {
            "labels": [g.key for g in groups],
            "count": [g.count for g in groups],
            "quality": [g.avg_quality for g in groups],
            "performance_index": [g.avg_performance_index for g in groups],
            "success_rate": [g.success_rate for g in groups],
        },
        "clear_href": page_url(query, model=None) if query.filters.model else "",
    }


# --- Trend --------------------------------------------------------------------------------------


def fill_buckets(
    points: list[sel.TrendPoint],
    *,
    first: datetime | None,
    last: datetime,
    granularity: Granularity,
) -> list[sel.TrendPoint]:
    """Every bucket from ``first`` (else the first point) to ``last``; empty buckets count 0."""
    if first is None:
        if not points:
            return []
        first = points[0].bucket
    by_instant = {p.bucket.astimezone(UTC): p for p in points}
    zone = timezone.get_current_timezone()
    return [
        by_instant.get(at.astimezone(UTC))
        or sel.TrendPoint(bucket=at, count=0, avg_quality=None, avg_performance_index=None)
        for at in bucket_starts(first, last, granularity, tz=zone)
    ]


def trend_context(query: DashboardQuery) -> dict[str, Any]:
    """The trend, in buckets picked from the span (``granularity_for``: at most about 100
    points); "all time" spans from the view's first record."""
    window = query.window
    # The window excludes its start: its first bucket is the one of the instant after it.
    first = None if window.start is None else window.start + timedelta(microseconds=1)
    if first is None:
        first = sel.first_record_at(filters=figures_of(query).filters)
    # A custom range may end in the future, which holds no records: the chart stops now.
    last = max(first or query.now, min(window.end, query.now)) if query.custom else window.end
    granularity = granularity_for(first or last, last)
    points = fill_buckets(
        sel.trend_series(window=window, filters=figures_of(query).filters, granularity=granularity),
        first=first,
        last=last,
        granularity=granularity,
    )
    zone = timezone.get_current_timezone_name()
    years = {timezone.localtime(p.bucket).year for p in points}
    return {
        "granularity": granularity,
        "has_data": any(p.count for p in points),
        # Days are the server's (settings.TIME_ZONE) calendar days, so they say so; hours are
        # instants, which the page prints in the reader's zone (with that zone's name).
        "bucket_note": f"days in {zone}" if granularity == "day" else "hours in your time zone",
        "chart": {
            "unit": granularity,
            "zone": zone,
            # The axis names the year when the buckets are of more than one, or not this one.
            "with_year": len(years) > 1 or years != {timezone.localtime(query.now).year},
            "buckets": [iso_utc(p.bucket) for p in points],
            # Day, week and month buckets are dates in the server's time zone: labelled as
            # such, not converted.
            "labels": [
                timezone.localtime(p.bucket).date().isoformat()
                if granularity != "hour"
                else iso_utc(p.bucket)
                for p in points
            ],
            "count": [p.count for p in points],
            "quality": [p.avg_quality for p in points],
            "performance_index": [p.avg_performance_index for p in points],
        },
    }


# --- Insights -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """One model, skill or agent as the insights panel prints it."""

    name: str
    score: str
    count: int
    thin: bool
    tone: str
    sureness: str  # how sure the mean is, in words: its 95% interval
    margin: str  # "± 10.3": half the interval's width, "" without one

    @classmethod
    def of(cls, entry: Entry) -> Pick:
        return cls(
            name=entry.name,
            score=fmt_number(entry.avg_score),
            count=entry.count,
            thin=entry.thin,
            tone=score_tone(entry.avg_score),
            sureness=sureness(entry),
            margin=""
            if entry.score_low is None
            else f"\u00b1 {fmt_number((entry.score_high - entry.score_low) / 2)}",
        )


def sureness(entry: Entry) -> str:
    """``mean quality 87.5, 95% CI 77.2\u201397.8 over 4 tasks``; one task has no interval."""
    tasks = f"{entry.count} task{'s' if entry.count != 1 else ''}"
    if entry.score_low is None:
        return f"mean quality {fmt_number(entry.avg_score)} from {tasks}: too few to say how sure"
    return (
        f"mean quality {fmt_number(entry.avg_score)}, 95% CI "
        f"{fmt_number(entry.score_low)}\u2013{fmt_number(entry.score_high)} over {tasks}"
    )


@dataclass(frozen=True)
class InsightRow:
    task_type: str
    label: str
    href: str
    best_model: Pick | None
    skills: list[Pick]
    agents: list[Pick]
    trend: str


@dataclass(frozen=True)
class HeatCell:
    model: str
    score: str
    count: int
    css: str
    thin: bool
    title: str


def insights_context(query: DashboardQuery) -> dict[str, Any]:
    found = task_insights(window=query.window, filters=figures_of(query).filters)
    rows = [
        InsightRow(
            task_type=item.task_type,
            label=item.task_type.capitalize(),
            href=page_url(query, task_type=item.task_type),
            best_model=Pick.of(item.best_model) if item.best_model else None,
            skills=[Pick.of(e) for e in item.skills.leaders],
            agents=[Pick.of(e) for e in item.agents.leaders],
            trend=trend_label(found.type_trends.get(item.task_type)),
        )
        for item in found.by_type
    ]
    heatmap = []
    for item in found.by_type:
        cells = []
        for model in found.heatmap_models:
            entry = found.heatmap[item.task_type].get(model)
            cells.append(
                HeatCell(
                    model=model,
                    score=fmt_number(entry.avg_score) if entry else DASH,
                    count=entry.count if entry else 0,
                    css=heat_class(entry.avg_score if entry else None),
                    thin=bool(entry and entry.thin),
                    title=(
                        f"{model} on {item.task_type}: {fmt_number(entry.avg_score)} over "
                        f"{entry.count} task{'s' if entry.count != 1 else ''}"
                        if entry
                        else f"{model} has no {item.task_type} tasks in this view"
                    ),
                )
            )
        heatmap.append((item.task_type.capitalize(), cells))
    return {
        "rows": rows,
        "models": found.heatmap_models,
        "heatmap": heatmap,
        "model_trends": [
            (name, trend_label(direction)) for name, direction in sorted(found.model_trends.items())
        ],
        "recommendations": found.recommendations,
        "min_evidence": MIN_EVIDENCE,
        "more_models": found.more_models,
        "more_text": more_models_text(found.more_models),
        "top_models": TOP_MODELS,
    }


# --- Page ---------------------------------------------------------------------------------------

# panel name in URLs and partials -> (context key, builder)
PANELS: dict[str, tuple[str, Callable[[DashboardQuery], dict[str, Any]]]] = {
    "kpis": ("kpis", kpis_context),
    "recent-records": ("recent", recent_records_context),
    "task-types": ("task_types", task_types_context),
    "models": ("models", models_context),
    "trend": ("trend", trend_context),
    "insights": ("insights", insights_context),
    "alerts": ("alerts", alerts_banner_context),
}
# Panels shown even before any record is stored (the others wait for data).
ALWAYS_SHOWN = frozenset({"alerts"})


def panel_context(panel: str, query: DashboardQuery) -> dict[str, Any]:
    key, builder = PANELS[panel]
    return {"query": query, key: builder(query)}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


def controls_context(
    query: DashboardQuery, model_names: list[str], project_names: Sequence[str] = ()
) -> dict[str, Any]:
    filters = query.filters
    chips = [
        (name, label, value, page_url(query, **{name: None}))
        for name, label, value in (
            ("model", "Model", filters.model),
            ("task_type", "Task type", filters.task_type),
            ("source", "Source", ORIGIN_LABELS.get(filters.origin or "")),
            ("q", "Search", filters.search),
            ("project", "Project", filters.project),
        )
        if value
    ]
    return {
        "periods": [
            Option(key, PERIOD_LABELS[key], key == query.period and not query.custom)
            for key in PERIODS
        ],
        "custom": query.custom,
        "range_from": query.first_day.isoformat() if query.first_day else "",
        "range_to": query.last_day.isoformat() if query.last_day else "",
        "range_errors": query.range_errors,
        "range_text": query.period_label if query.custom else "",
        "models": [Option(n, n, n == filters.model) for n in model_names],
        "projects": [Option(n, n, n == filters.project) for n in project_names],
        "task_types": [Option(t, label, t == filters.task_type) for t, label in TASK_TYPE_CHOICES],
        "origins": [Option(k, v, k == filters.origin) for k, v in ORIGIN_LABELS.items()],
        "chips": chips,
        "reset_href": page_url(
            query, model=None, task_type=None, source=None, project=None, q=None
        ),
        "search": filters.search or "",
        "search_max": MAX_SEARCH,
        # the tables' orders, kept when a filter changes
        "hidden": [
            (name, value)
            for name, value in query.params().items()
            if name in {"sort", "type_sort", "model_sort"}
        ],
        # the custom range form keeps every filter, the search and the orders of the view
        "range_hidden": [
            (name, value)
            for name, value in query.params().items()
            if name not in {"period", "from", "to"}
        ],
        "default_period": DEFAULT_PERIOD,
    }


@dataclass(frozen=True)
class HistoryHint:
    """The view's period is empty but records exist: where they are, and the link to them."""

    text: str  # "80 records between 21 Oct 2025 and 27 Oct 2025"
    href: str


def history_hint(query: DashboardQuery, *, tasks: int) -> HistoryHint | None:
    """None unless the view's window holds no record (``tasks``, its KPI count) but other
    records matching its filters do."""
    if tasks:
        return None
    span = sel.records_span(filters=query.filters)
    if span is None:
        return None
    first = timezone.localtime(span.first).date()
    last = timezone.localtime(span.last).date()
    noun = "record" if span.count == 1 else "records"
    when = (
        f"on {range_text(first, last)}"
        if first == last
        else (f"between {range_text(first, first)} and {range_text(last, last)}")
    )
    href = page_url(query, period=None, **{"from": first.isoformat(), "to": last.isoformat()})
    return HistoryHint(text=f"{fmt_count(span.count)} {noun} {when}", href=href)


def page_context(
    query: DashboardQuery,
    *,
    model_names: list[str],
    has_records: bool,
    project_names: Sequence[str] = (),
) -> dict:
    context: dict[str, Any] = {
        "query": query,
        "period_label": query.period_label,
        "heading": query.heading,
        "history_hint": None,
        "controls": controls_context(query, model_names, project_names),
        "has_records": has_records,
        "self_url": page_url(query),
        "page_size": sel.PAGE_SIZE,  # for the script: a refresh keeps the rows loaded beyond it
        "urls": panel_urls(query, keys={panel: key for panel, (key, _) in PANELS.items()}),
    }
    for panel, (key, builder) in PANELS.items():
        if has_records or panel in ALWAYS_SHOWN:
            context[key] = builder(query)
    if has_records:
        context["history_hint"] = history_hint(query, tasks=context["kpis"]["tasks"])
    return context
