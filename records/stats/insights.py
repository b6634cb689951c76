"""Which models, skills and agents work best for which task, and whether each is improving.

Pure ranking/trend/sentence functions first, then the selector that feeds them from the rollups
(a fixed number of queries, whatever the history size, and statements of a fixed size whatever
the number of distinct model, skill and agent names: only TOP_MODELS models get a trend read).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import connection
from django.db.models import F, Q
from django.db.models import Window as WindowExpression
from django.db.models.functions import RowNumber

from records.rules.classification import CANONICAL_TYPES
from records.rules.confidence import (
    PRIOR_SD,
    T_TERMS,
    Interval,
    Sample,
    mean_difference,
    ranking_bound,
    wilson,
)
from records.rules.names import PLACEHOLDER_MODELS, is_placeholder_model
from records.rules.periods import Window
from records.stats.aggregates import (
    Subject,
    grouped_sql,
    in_counters_order,
    text_order,
    top_groups,
)
from records.stats.filters import NO_FILTERS, RecordFilters, records_in
from records.stats.rollups import COUNTERS

MIN_EVIDENCE = 3  # fewer tasks than this is thin evidence: shown, never ranked above solid ones
TREND_WINDOW = 10
TREND_THRESHOLD = 5.0
TOP_NAMES = 3
# How many models a list made for reading shows (heat map columns, model trends, the models
# panel, the model filter's choices): the most used in the view. The rest are summarised as
# "and N more models". It also bounds every per-model statement: a view with 10,000 models runs
# the same statements as one with TOP_MODELS.
TOP_MODELS = 12

Trend = Literal["improving", "declining", "stable"]


@dataclass(frozen=True)
class Entry:
    """One model, skill or agent on one task type."""

    name: str
    count: int
    avg_score: float
    success_rate: float
    avg_performance: float
    # How sure the mean quality is: its 95% interval (None below two tasks), and the bound the
    # ranking uses (records.rules.confidence.ranking_bound).
    score_low: float | None = None
    score_high: float | None = None
    score_sd: float | None = None
    rank_bound: float = 0.0
    placeholder: bool = False  # "Unknown", "Test Model", …: shown, never ranked first
    pass_count: int = 0  # tasks whose quality reached PASS_THRESHOLD

    @property
    def pass_rate(self) -> float:
        return 100 * self.pass_count / self.count if self.count else 0.0

    @property
    def pass_interval(self) -> Interval | None:
        """The pass rate's 95% Wilson interval, in percent."""
        found = wilson(self.pass_count, self.count)
        return None if found is None else found.scaled(100)

    @property
    def thin(self) -> bool:
        return self.count < MIN_EVIDENCE

    @property
    def score_sample(self) -> Sample:
        return Sample(self.count, self.avg_score, self.score_sd)

    @property
    def solid(self) -> bool:
        """Enough tasks, and a real name: an entry that may be called the best."""
        return not self.thin and not self.placeholder

    def as_summary(self) -> dict:
        return {
            "name": self.name,
            "count": self.count,
            "avg_score": round(self.avg_score, 1),
            "score_interval": None
            if self.score_low is None
            else [round(self.score_low, 1), round(self.score_high, 1)],
        }


def _order(count: int, bound: float, name: str, placeholder: bool) -> tuple:
    """Best first by the lower bound of the mean quality (one lucky task does not beat thirty
    good ones); thin evidence after every solid entry, placeholders after every real name; ties
    by count, then name."""
    return (placeholder, count < MIN_EVIDENCE, -bound, -count, name)


def rank(entries: Iterable[Entry]) -> list[Entry]:
    """Entries in ranking order (``_order``)."""
    return sorted(entries, key=lambda e: _order(e.count, e.rank_bound, e.name, e.placeholder))


def trend(scores_oldest_first: Sequence[float]) -> Trend | None:
    """Compare the older and newer half of the latest TREND_WINDOW scores; None below 4 scores."""
    latest = list(scores_oldest_first)[-TREND_WINDOW:]
    half = len(latest) // 2
    if half < 2:
        return None
    older = sum(latest[:half]) / half
    newer = sum(latest[-half:]) / half
    if newer - older > TREND_THRESHOLD:
        return "improving"
    if older - newer > TREND_THRESHOLD:
        return "declining"
    return "stable"


_COUNT, _SUCCESS, _PASS, _QUALITY, _PERFORMANCE, _QUALITY_SQ = (
    COUNTERS.index(name)
    for name in (
        "count",
        "success_count",
        "pass_count",
        "quality_tenths",
        "performance_tenths",
        "quality_sq",
    )
)


def _quality(sums: Sequence[float]) -> Sample:
    """The group's quality scores as a sample (points; the rollups keep tenths)."""
    return Sample.of_sums(sums[_COUNT], sums[_QUALITY] / 10, sums[_QUALITY_SQ] / 100)


def _entry(name: str, sums: Sequence[float], *, placeholders: bool = False) -> Entry:
    """The entry of a group's sums (COUNTERS order, count above zero). ``placeholders``: the
    names are models', and placeholder model names are marked."""
    count = sums[_COUNT]
    sample = _quality(sums)
    interval = sample.interval()
    return Entry(
        name=name,
        count=count,
        avg_score=sums[_QUALITY] / 10 / count,
        success_rate=100 * sums[_SUCCESS] / count,
        avg_performance=sums[_PERFORMANCE] / 10 / count,
        score_low=None if interval is None else max(0.0, interval.low),
        score_high=None if interval is None else min(100.0, interval.high),
        score_sd=sample.sd,
        rank_bound=ranking_bound(sample),
        placeholder=placeholders and is_placeholder_model(name),
        pass_count=int(sums[_PASS]),
    )


@dataclass(frozen=True)
class Ranking:
    """The models (or skills, or agents) of one task type in ``rank`` order, as far as anything
    shows them: the leaders and the figures the sentences need. A view may hold 10,000 names, so
    no object is made for the others."""

    leaders: list[Entry]  # the best TOP_NAMES
    solid: int = 0  # how many have MIN_EVIDENCE tasks and a real name (they rank first)
    weakest_solid: Entry | None = None  # the last of those
    solid_score_sum: float = 0.0  # the sum of their mean qualities
    total: int = 0  # the tasks of every group (links, for skills and agents)

    @property
    def best_solid(self) -> Entry | None:
        return self.leaders[0] if self.solid else None


def ranking(groups: Iterable[tuple[str, Sequence[float]]], *, models: bool = False) -> Ranking:
    """Rank (name, sums) groups as ``rank`` ranks their entries, from plain numbers: one sort
    of tuples, and entries made only for the leaders and the weakest solid group. ``models``:
    the names are models' (placeholder names rank last)."""

    def key(group: tuple[str, Sequence[float]]) -> tuple:
        name, sums = group
        placeholder = models and is_placeholder_model(name)
        return _order(sums[_COUNT], ranking_bound(_quality(sums)), name, placeholder)

    ordered = sorted(groups, key=key)
    solid = [
        sums
        for name, sums in ordered
        if sums[_COUNT] >= MIN_EVIDENCE and not (models and is_placeholder_model(name))
    ]
    return Ranking(
        leaders=[_entry(name, sums, placeholders=models) for name, sums in ordered[:TOP_NAMES]],
        solid=len(solid),
        weakest_solid=_entry(*ordered[len(solid) - 1], placeholders=models) if solid else None,
        solid_score_sum=sum(sums[_QUALITY] / 10 / sums[_COUNT] for sums in solid),
        total=sum(sums[_COUNT] for _, sums in ordered),
    )


@dataclass(frozen=True)
class TypeInsight:
    task_type: str
    models: Ranking
    skills: Ranking
    agents: Ranking

    @property
    def tasks(self) -> int:
        """The type's tasks (each has one model)."""
        return self.models.total

    @property
    def best_model(self) -> Entry | None:
        """The leading model, unless it is a placeholder name: "Unknown" is never the best."""
        leader = self.models.leaders[0] if self.models.leaders else None
        return None if leader is None or leader.placeholder else leader


@dataclass(frozen=True)
class Insights:
    by_type: list[TypeInsight]
    model_trends: dict[str, Trend | None]
    type_trends: dict[str, Trend | None]
    heatmap_models: list[str]  # the TOP_MODELS most used models of the view, by name
    heatmap: dict[str, dict[str, Entry]]  # task type -> shown model -> entry
    recommendations: list[str]
    more_models: int = 0  # models with records in the view beyond heatmap_models

    def summary(self) -> dict:
        """The ``insights`` of get_performance_summary and /api/summary (docs/dashboard.md)."""
        return {
            item.task_type: {
                "best_model": item.best_model.as_summary() if item.best_model else None,
                "best_skills": [e.as_summary() for e in item.skills.leaders],
                "best_agents": [e.as_summary() for e in item.agents.leaders],
            }
            for item in self.by_type
        }


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


MAX_RECOMMENDATIONS = 8


def gap_text(gap: Interval) -> str:
    """``12 points apart, 95% CI 8\u201316`` (an en dash); without a spread, just the points."""
    if gap.high - gap.low < 0.05:
        return f"{_fmt(gap.estimate)} points apart"
    return f"{_fmt(gap.estimate)} points apart, 95% CI {_fmt(gap.low)}\u2013{_fmt(gap.high)}"


def _clear_gap(best: Entry, worst: Entry) -> Interval | None:
    """The difference of two entries' mean quality when it is clear (its 95% interval above
    one point), else None: a sentence about it would claim more than the data shows."""
    gap = mean_difference(best.score_sample, worst.score_sample)
    return gap if gap is not None and gap.low >= 1 else None


def recommendations(
    by_type: Sequence[TypeInsight], model_trends: dict[str, Trend | None]
) -> list[str]:
    """Short plain sentences, the most telling first: the widest gaps between the best and the
    weakest well-supported model of a type, then the best skill where it stands out, then models
    on the move. At most MAX_RECOMMENDATIONS."""
    gaps: list[tuple[float, str]] = []
    skills: list[tuple[float, str]] = []
    for item in by_type:
        best, worst = item.models.best_solid, item.models.weakest_solid
        gap = _clear_gap(best, worst) if item.models.solid >= 2 else None
        if gap is not None:
            gaps.append(
                (
                    gap.estimate,
                    f"For {item.task_type}, {best.name} averages {_fmt(best.avg_score)} over "
                    f"{best.count} tasks; {worst.name} averages {_fmt(worst.avg_score)} over "
                    f"{worst.count} ({gap_text(gap)}).",
                )
            )
        if item.skills.solid >= 2:
            top, others = item.skills.best_solid, item.skills.solid - 1
            lead = top.avg_score - (item.skills.solid_score_sum - top.avg_score) / others
            skills.append(
                (
                    lead,
                    f"For {item.task_type}, tasks using {top.name} average "
                    f"{_fmt(top.avg_score)} over {top.count} tasks.",
                )
            )
    moving = [
        f"{model} is {direction} over its latest {TREND_WINDOW} tasks."
        for model, direction in sorted(model_trends.items())
        if direction in {"improving", "declining"}
    ]
    lines = [text for _, text in sorted(gaps, key=lambda g: -g[0])[:4]]
    lines += [text for _, text in sorted(skills, key=lambda g: -g[0])[:2]]
    return (lines + moving)[:MAX_RECOMMENDATIONS]


def most_used(counts: Counter[str], limit: int = TOP_MODELS) -> list[str]:
    """The ``limit`` names with the most tasks (ties by name), most used first."""
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


# A UNION ALL with more terms than this fails on SQLite (SQLITE_MAX_COMPOUND_SELECT, 500).
MAX_TREND_GROUPS = max(TOP_MODELS, len(CANONICAL_TYPES))


def _latest_scores(
    window: Window, filters: RecordFilters, field: str, values: Sequence[str]
) -> dict[str, list[float]]:
    """Quality of the latest TREND_WINDOW records per model or per task type, oldest first.

    One query: a UNION ALL of per-group ``LIMIT 10`` reads, each served by the
    (group, recorded_at) index, so the cost does not grow with the history. It takes at most
    MAX_TREND_GROUPS groups (the shown models, or the nine task types), so it does not grow with
    the number of names either. (A ``ROW_NUMBER() OVER (PARTITION BY ...)`` read would be one
    statement of a fixed size too, but it numbers every record of the window: a full scan and
    sort of a million records for "all time".)
    """
    if len(values) > MAX_TREND_GROUPS:
        raise ValueError(f"at most {MAX_TREND_GROUPS} trend groups, got {len(values)}")
    base = records_in(window, filters)
    if filters.searched is not None and values:
        # A search's copied matches (records.stats.searched), a few thousand rows without an
        # index: numbered in one pass, where each LIMIT 10 part would scan them all.
        latest = base.filter(**{f"{field}__in": list(values)}).annotate(
            group=F(field),
            place=WindowExpression(
                RowNumber(),
                partition_by=[F(field)],
                order_by=[F("recorded_at").desc(), F("id").desc()],
            ),
        )
        rows = latest.filter(place__lte=TREND_WINDOW).values_list(
            "group", "recorded_at", "quality_score"
        )
        return _oldest_first(rows)
    parts = [
        base.filter(**{field: value})
        .order_by("-recorded_at", "-id")
        .annotate(group=F(field))
        .values_list("group", "recorded_at", "quality_score")[:TREND_WINDOW]
        .query.sql_with_params()
        for value in values
    ]
    if not parts:
        return {}
    # Each part is wrapped as a subquery: SQLite allows no LIMIT on a bare UNION member.
    sql = " UNION ALL ".join(
        f"SELECT * FROM ({part_sql}) AS p{i}" for i, (part_sql, _) in enumerate(parts)
    )
    params = [param for _, part_params in parts for param in part_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _oldest_first(cursor.fetchall())


def _oldest_first(rows: Iterable[tuple]) -> dict[str, list[float]]:
    """(group, recorded_at, quality) rows as each group's qualities, oldest first."""
    scores: dict[str, list[tuple]] = defaultdict(list)
    for group, recorded_at, quality in rows:
        scores[group].append((recorded_at, quality))
    return {group: [q for _, q in sorted(items)] for group, items in scores.items()}


# The sums an Entry is made of (``_entry``, ``ranking``): the only ones the rankings add up.
_RANKED = (
    "count",
    "success_count",
    "pass_count",
    "quality_tenths",
    "performance_tenths",
    "quality_sq",
)


def _ranked_sql(inner: str, *, name: str, models: bool) -> tuple[str, list]:
    """``inner`` (``grouped_sql`` by task type and ``name``, the ``_RANKED`` sums) ranked per
    task type in SQL, as ``ranking`` ranks it: the ``_order`` key (placeholder, thin evidence,
    the lower bound of ``ranking_bound`` written out in SQL, count, name) numbered per type by a
    window function. Only the rows a ``Ranking`` is made of come back: the TOP_NAMES leaders
    and the weakest solid group of each type, each with the type's solid count, solid mean sum
    and total. Returns the statement and the parameters that follow ``inner``'s own."""
    qn = connection.ops.quote_name
    task_type, label = qn("g_task_type"), qn(f"g_{name}")
    count, tenths, squares = qn("count"), qn("quality_tenths"), qn("quality_sq")
    params: list = []
    placeholder = "0"
    if models:  # stored names are cleaned (records.rules.names.clean_name) on every door
        params = sorted(PLACEHOLDER_MODELS)
        marks = ", ".join(["%s"] * len(params))
        placeholder = f"CASE WHEN LOWER(g.{label}) IN ({marks}) THEN 1 ELSE 0 END"
    # t_quantile(n - 1), in Horner form over x_ = 1 / (n - 1); every operand a float (a
    # PostgreSQL numeric here would make the whole bound numeric arithmetic)
    *rest, last = T_TERMS
    t = repr(last)
    for term in reversed(rest):
        t = f"({t} * x_ + {term!r})"
    solid = f"ph_ = 0 AND {count} >= {MIN_EVIDENCE}"
    order = f"ph_, thin_, bound_ DESC, {count} DESC, {text_order(label)}"
    sums = ", ".join(qn(c) for c in _RANKED)
    sql = f"""WITH g AS ({inner}),
a AS (
  SELECT g.*, {placeholder} AS ph_,
    CASE WHEN g.{count} < {MIN_EVIDENCE} THEN 1 ELSE 0 END AS thin_,
    CAST(g.{tenths} AS DOUBLE PRECISION) / 10 / g.{count} AS mean_,
    CASE WHEN g.{count} > 1 THEN CAST(1 AS DOUBLE PRECISION) / (g.{count} - 1) END AS x_
  FROM g),
b AS (SELECT a.*, (a.{squares} / 100 - a.{count} * a.mean_ * a.mean_) * a.x_ AS var_ FROM a),
c AS (
  SELECT b.*, CASE WHEN b.{count} < 2 THEN 0.0 ELSE b.mean_ - {t}
      * (CASE WHEN b.var_ > {PRIOR_SD**2!r} THEN SQRT(b.var_) ELSE {PRIOR_SD!r} END)
      / SQRT(b.{count}) END AS raw_
  FROM b),
r AS (SELECT c.*, CASE WHEN c.raw_ > 0 THEN c.raw_ ELSE 0.0 END AS bound_ FROM c),
o AS (
  SELECT r.*,
    ROW_NUMBER() OVER (PARTITION BY {task_type} ORDER BY {order}) AS rn_,
    SUM(CASE WHEN {solid} THEN 1 ELSE 0 END) OVER (PARTITION BY {task_type}) AS solid_,
    SUM(CASE WHEN {solid} THEN mean_ ELSE 0 END) OVER (PARTITION BY {task_type}) AS solid_sum_,
    SUM({count}) OVER (PARTITION BY {task_type}) AS total_
  FROM r)
SELECT {task_type}, {label}, {sums}, rn_, solid_, solid_sum_, total_
FROM o WHERE rn_ <= {TOP_NAMES} OR rn_ = solid_ ORDER BY {task_type}, rn_"""
    return sql, params


def _ranked_by_type(
    window: Window, filters: RecordFilters, name: str, subject: Subject
) -> dict[str, Ranking]:
    """Task type -> the ``ranking`` of its models (or skills, or agents).

    One statement adds up the rollup rows and the window's edge records (or links) per (task
    type, name), only the sums an entry needs (``grouped_sql``: summing all of COUNTERS costs
    SQLite three times as much at 20,000 rollup rows), and ranks them per type in SQL
    (``_ranked_sql``): at 10,000 names a type still returns at most TOP_NAMES + 1 rows, where
    fetching and sorting every group in Python cost more than adding them up. The entries are
    made by ``_entry``, as the pure ``ranking`` makes them; tests hold the two equal."""
    inner, params = grouped_sql(
        window=window, filters=filters, by=("task_type", name), subject=subject, columns=_RANKED
    )
    models = subject == "records"
    sql, placeholders = _ranked_sql(inner, name=name, models=models)
    rows: dict[str, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *placeholders])
        for task_type, label, *rest in cursor.fetchall():
            rows[task_type].append((label, *rest))
    rankings = {}
    width = len(_RANKED)
    for task_type, found in rows.items():
        entries = {}  # place in the type's order -> entry
        for label, *values in found:
            sums = in_counters_order(_RANKED, values[:width])
            entries[int(values[width])] = _entry(label, sums, placeholders=models)
        solid, solid_sum, total = found[0][-3:]
        solid = int(solid)
        rankings[task_type] = Ranking(
            leaders=[entries[place] for place in sorted(entries) if place <= TOP_NAMES],
            solid=solid,
            weakest_solid=entries[solid] if solid else None,
            solid_score_sum=float(solid_sum),
            total=int(total),
        )
    return rankings


def type_insights(*, window: Window, filters: RecordFilters = NO_FILTERS) -> list[TypeInsight]:
    """Each task type's rankings of models, skills and agents, as ``task_insights`` has them
    (the same statements and the same ``ranking``), without the trends and the heat map: what
    records.stats.recommendations reads, so the advice and the insights panel never disagree."""
    models = _ranked_by_type(window, filters, "model", "records")
    skills = _ranked_by_type(window, filters, "skill", "skills")
    agents = _ranked_by_type(window, filters, "agent", "agents")
    empty = Ranking(leaders=[])
    return [
        TypeInsight(
            task_type=task_type,
            models=models[task_type],
            skills=skills.get(task_type, empty),
            agents=agents.get(task_type, empty),
        )
        for task_type in CANONICAL_TYPES
        if task_type in models
    ]


def task_insights(*, window: Window, filters: RecordFilters = NO_FILTERS) -> Insights:
    """Rankings per task type, trends per model and per task type, a heat map, sentences.

    The same queries, of the same size, at any number of names: the most used models are ranked
    in SQL (``top_groups``, 12 rows back), the heat map reads only the shown models, and each
    ranking is one statement of six sums per (task type, name) ranked by the pure ``ranking``
    (``_ranked_by_type``, through ``type_insights``)."""
    read = {"window": window, "filters": filters}
    by_type = type_insights(window=window, filters=filters)
    type_names = [item.task_type for item in by_type]
    top = top_groups(**read, by="model", limit=TOP_MODELS, columns=("count",))
    shown = sorted(name for name, _ in top.rows)
    by_model = _heatmap_sums(window, filters, shown)
    model_trends = {
        name: trend(scores)
        for name, scores in _latest_scores(window, filters, "model__name", shown).items()
    }
    type_trends = {
        name: trend(scores)
        for name, scores in _latest_scores(window, filters, "task_type", type_names).items()
    }
    heatmap = {
        task_type: {
            name: _entry(name, by_model[task_type, name], placeholders=True)
            for name in shown
            if (task_type, name) in by_model
        }
        for task_type in type_names
    }
    return Insights(
        by_type=by_type,
        model_trends=model_trends,
        type_trends=type_trends,
        heatmap_models=shown,
        heatmap=heatmap,
        recommendations=recommendations(by_type, model_trends),
        more_models=top.groups - len(shown),
    )


def _heatmap_sums(
    window: Window, filters: RecordFilters, shown: Sequence[str]
) -> dict[tuple, Sequence[int]]:
    """(task type, model) -> sums of the shown models only (at most TOP_MODELS names in the
    statement)."""
    if not shown:
        return {}
    sql, params = grouped_sql(
        window=window,
        filters=filters,
        by=("task_type", "model"),
        names=Q(model__name__in=list(shown)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
