"""Which records a read covers: a time window and the dashboard's filters.

Shared by every selector, aggregate and insight, so "the records of this view" is computed in
one place: ``records_in`` for the records themselves, ``window_q`` and ``RecordFilters.q`` for
a query built elsewhere (rollup rows carry the same filter dimensions as records).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import F, Field, Func, IntegerField, Max, Min, Q, QuerySet
from django.db.models.lookups import GreaterThan, LessThanOrEqual

from records.models import (
    SearchedRecord,
    TaskRecord,
    slot_ids,
)
from records.rules.classification import CANONICAL_TYPES
from records.rules.periods import Window
from records.stats.copies import LINKS, ensure_links
from records.stats.search import (
    PG_DAY_SPAN,
    matches_at_least,
    matching_ids,
    row_matches,
    search_words,
)

# How a record came to be: recorded automatically (AUTO) or assessed by hand. Not to be confused
# with TaskRecord.source, the write channel (recorder, api, cli, legacy:<file>). The dashboard's
# URL calls this filter ``source=auto|manual``; only dashboard.forms knows that name.
ORIGIN_AUTO = "auto"
ORIGIN_MANUAL = "manual"
ORIGINS = (ORIGIN_AUTO, ORIGIN_MANUAL)

# A search's figures (KPIs, task types, models, trend, insights) are those of its newest
# SEARCH_CAP matches at most within the view's window and other filters (``figure_filters``): a
# broad search at a million records would otherwise sum 125,000 records in every panel. The
# list of records and the export keep every match. Documented in docs/dashboard.md.
SEARCH_CAP = 10_000


@dataclass(frozen=True)
class RecordFilters:
    """The dashboard's filters; ``None`` means "any"."""

    model: str | None = None
    task_type: str | None = None
    origin: str | None = None  # ORIGIN_AUTO or ORIGIN_MANUAL
    # TaskRecord.project (the repository or folder an agent worked in); every rollup level has
    # it in its key, so a project filter is read from rollups like the others.
    project: str | None = None
    # Full-text search (``?q=``, records.stats.search): every word must start a word of the
    # record's description, task label or record id. Rollup rows know nothing of text, so a read
    # with a search sums the matching records themselves (``by_rollups`` is False).
    search: str | None = None
    # With a search: the slot of records.stats.searched that holds a copy of the records it
    # stands for, its newest matches in one window (``figure_filters``), copied once per view
    # so that no statement runs the search again or looks its matches up among all records.
    searched: int | None = field(default=None, repr=False)
    # Whether the records' agent was given Perfsite's advice (TaskRecord.advice not empty; the
    # compare view's advised:yes|no). Only TypeRollup keeps it (its ``advised`` key): a read
    # that needs another level, by model, skill or agent, sums the records themselves.
    advised: bool | None = None

    def __post_init__(self) -> None:
        if self.task_type is not None and self.task_type not in CANONICAL_TYPES:
            raise ValueError(f"Unknown task type {self.task_type!r}.")
        if self.origin is not None and self.origin not in ORIGINS:
            raise ValueError(f"Unknown origin {self.origin!r}; use auto or manual.")
        if self.search is not None and not search_words(self.search):
            raise ValueError("A search needs at least one letter or digit.")

    @property
    def active(self) -> bool:
        return any((self.model, self.task_type, self.origin, self.project, self.search)) or (
            self.advised is not None
        )

    def records(self) -> QuerySet[TaskRecord] | QuerySet[SearchedRecord]:
        """Every record these filters may read: a search's copied matches (``searched``), or
        the records themselves. (The two share their field names.)"""
        return (TaskRecord if self.searched is None else SearchedRecord).objects.all()

    def links(self, subject: str) -> QuerySet:
        """The skill (``subject`` "skills") or agent ("agents") links these filters may read,
        as ``records``: a copy's are copied on first use (records.stats.copies)."""
        copied, stored, _ = LINKS[subject]
        if self.searched is None:
            return stored.objects.all()
        ensure_links(self.searched, subject)
        return copied.objects.all()

    @property
    def by_rollups(self) -> bool:
        """Whether rollup rows can answer this filter (they carry every dimension but text)."""
        return self.search is None

    def q(self, prefix: str = "", *, rollup: bool = False) -> Q:
        """The filter as a Q on records (``prefix`` "record__" from a skill or agent link, ""
        from a record), or with ``rollup`` on rollup rows, which carry the same dimensions
        (never a search: see ``by_rollups``; ``advised`` as TypeRollup's column); then
        ``link_q``."""
        return self.record_q(prefix, rollup=rollup) & self.link_q()

    def link_q(self) -> Q:
        """Conditions on the rows read beyond the records' own (a subclass's skill or agent, on
        skill or agent rollup rows and links); none here."""
        return Q()

    def record_q(self, prefix: str = "", *, rollup: bool = False) -> Q:
        """``q`` without ``link_q``: the conditions on the records (or rollup rows) only."""
        q = Q()
        if self.model is not None:
            q &= Q(**{f"{prefix}model__name": self.model})
        if self.task_type is not None:
            q &= Q(**{f"{prefix}task_type": self.task_type})
        if self.origin is not None:
            q &= Q(**{f"{prefix}auto_generated": self.origin == ORIGIN_AUTO})
        if self.project:
            q &= Q(**{f"{prefix}project": self.project})
        if self.advised is not None and rollup:
            q &= Q(advised=self.advised)
        elif self.advised is not None:
            given = Q(**{f"{prefix}advice": ""})
            q &= ~given if self.advised else given
        if self.searched is not None:
            q &= Q(**{f"{prefix}pk__range": slot_ids(self.searched)})
        elif self.search is not None:
            q &= Q(**{f"{prefix}pk__in": matching_ids(self.search)})
        return q


NO_FILTERS = RecordFilters()


def window_q(window: Window, *, indexed: bool = True) -> Q:
    """Records with ``start < recorded_at <= end`` (no lower bound when ``start`` is None).

    ``indexed`` False: a condition no index may serve, for reads that the listed ids of a search
    drive (``RecordFilters.searched``): SQLite, which keeps no statistics, would otherwise
    walk every record of a long window through the time index and check each against the list.
    """
    at: Any = F("recorded_at") if indexed else unindexed_time()
    q = Q(LessThanOrEqual(at, window.end))
    if window.start is not None:
        q &= Q(GreaterThan(at, window.start))
    return q


def records_in(window: Window, filters: RecordFilters = NO_FILTERS) -> QuerySet[TaskRecord]:
    """The records of ``window`` that match ``filters``: "the records of this view"."""
    return filters.records().filter(window_q(window, indexed=filters.searched is None), filters.q())


# A page of a search's newest matches first checks this many of the view's newest records
# (``newest_first``'s ``page``): on PostgreSQL one by one, at 14 us a record (28 ms at most).
PROBE_ROWS = 2_000


def newest_first(
    window: Window,
    filters: RecordFilters,
    *,
    page: bool = False,
    days: Sequence[Window] | None = None,
) -> QuerySet[TaskRecord]:
    """``records_in(window, filters)`` newest first (recorded_at, then id, descending), read the
    cheapest way when ``filters`` hold a search: the first rows of a broad search are near.

    SQLite keeps no statistics: it would look up every match by id and sort them all (80,000 of
    ``fix crash`` at a million records) to keep the newest. When SEARCH_CAP records or more match
    (a bounded count), it walks the (recorded_at, id) index newest first instead and checks each
    record against the matches. PostgreSQL matches on the row itself, where ``pk IN`` the
    matching ids would look every match up again by id: through the search index, which must
    visit every match to sort them (340 ms for the 80,000 of ``fix crash`` at a million
    records).

    ``page`` (the caller reads a page, a few rows): only the view's PROBE_ROWS newest records
    are read, so fewer rows than asked may come back while more match (``probed``), and the
    caller then reads again without ``page``. PostgreSQL checks each on its row as the time
    index is walked (5 ms for the newest 25 of ``fix crash``); SQLite asks its index for the
    matches among their ids only (10 ms, against 20 for every match and 6 for counting them).

    ``days`` (PostgreSQL, without ``page``): the search index yields only the matches of these
    windows' UTC days (``row_matches``); by default those of ``window`` when ``days_asked``,
    none (every match) for longer ones.
    """
    order = ("-recorded_at", "-id")
    if filters.search is None or filters.searched is not None:
        return records_in(window, filters).order_by(*order)
    qs = records_in(window, replace(filters, search=None))
    newest = qs.order_by(*order).values("pk")[:PROBE_ROWS]  # what ``page`` reads
    if connection.vendor == "postgresql":
        if page:
            qs = qs.filter(pk__in=newest).filter(row_matches(filters.search, indexed=False))
            return qs.order_by(*order)
        if days is None:
            days = [window] if days_asked(window) else []
        ranges = [(part.start, part.end) for part in days]
        return qs.filter(row_matches(filters.search, days=ranges)).order_by(*order)
    if page:
        ids = TaskRecord.objects.filter(pk__in=newest).aggregate(first=Min("pk"), last=Max("pk"))
        if ids["first"] is None:
            return qs.none()
        found = matching_ids(filters.search, between=(ids["first"], ids["last"]))
        return qs.filter(pk__in=newest).filter(pk__in=found).order_by(*order)
    return matching_walked(qs, filters.search).order_by(*order)


def days_asked(window: Window) -> bool:
    """Whether a read of ``window``'s matches asks PostgreSQL's search index for the window's
    days (``row_matches``): when it spans PG_DAY_SPAN or less."""
    return window.start is not None and window.end - window.start <= PG_DAY_SPAN


def search_matches(filters: RecordFilters) -> QuerySet[TaskRecord]:
    """Every record matching ``filters`` (which hold a search), in no order, for a read that
    visits them all (counts, first and last): found through the search index, so that a
    search of a few matches costs a few. With an ORDER BY and LIMIT (the first match),
    PostgreSQL's planner, which takes a prefix search for a rare one, walks the time index and
    checks every record's words instead: 11 s at a million records for a word none holds."""
    if connection.vendor == "postgresql":
        qs = filters.records().filter(replace(filters, search=None).q())
        return qs.filter(row_matches(filters.search))
    return filters.records().filter(filters.q())


def probed(filters: RecordFilters) -> bool:
    """Whether ``newest_first(..., page=True)`` reads only the newest records of the view (and
    so may miss matches beyond them)."""
    return filters.search is not None and filters.searched is None


def matching_walked(qs: QuerySet[TaskRecord], search: str) -> QuerySet[TaskRecord]:
    """SQLite: the records of ``qs`` that match ``search``, for a read in the order of an index
    (time, or a sort column). A broad search (SEARCH_CAP matches or more, a bounded count) is
    checked record by record as the index is walked (``+id IN`` the matches), so that a page
    needs its few rows; SQLite would otherwise look every match up by id and sort them all
    (181 ms for the 158,000 matches of ``fix`` at a million records, against 22). A narrow
    search is read from its matches, which a walk might have to pass the whole index to find."""
    found = matching_ids(search)
    if matches_at_least(search, SEARCH_CAP):
        qs = qs.alias(unindexed_id=_Unindexed(F("pk"), output_field=IntegerField()))
        return qs.filter(unindexed_id__in=found)
    return qs.filter(pk__in=found)


def unindexed_time(field: str = "recorded_at") -> F | Func:
    """A record's time (``field``: recorded_at, or record__recorded_at from a link) in a term no
    index may serve on SQLite (``+column``); the column itself elsewhere (PostgreSQL's planner
    weighs the listed ids by its statistics)."""
    return unindexed(field, TaskRecord._meta.get_field("recorded_at"))


def unindexed(field: str, output_field: Field) -> F | Func:
    """``F(field)`` in a term no index may serve on SQLite (``+column``, the same value), the
    column itself elsewhere. For the group of a read that its WHERE should drive: grouping the
    edge records of a window by ``model_id``, SQLite (which keeps no statistics) walked the
    whole (model, time) index in group order, a million entries, where the time index finds
    the window's few hundred records (165 ms against 0.2 at 1M records)."""
    if connection.vendor != "sqlite":
        return F(field)
    return _Unindexed(F(field), output_field=output_field)


class _Unindexed(Func):
    """``+column`` (SQLite): the same value, but no index on the column may serve the term."""

    template = "+%(expressions)s"
