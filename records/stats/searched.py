"""A search's figures, read from a copy of its matches.

A searched view's figures (KPIs, task types, models, trend, insights) are those of its newest
SEARCH_CAP matches (``figure_filters``). Each of the page's dozen statements
used to find them again among all the records by id: 10,000 lookups into a million wide rows,
about 20 ms a statement on SQLite and more on PostgreSQL. Here one statement copies what the
figures read of those matches (the columns of ``SearchedRecord``; on PostgreSQL also what each
adds to every counter, aggregates.counters_copied), and, the first time a read asks for them,
their skills or agents (records.stats.copies), into TEMPORARY tables of the connection, under
a new ``slot``; the filters then name the slot (``RecordFilters.searched``) and every figure
reads those few thousand narrow rows.

The tables are the connection's own: nothing another connection does can see or change them,
and they vanish with it (Perfsite keeps no connection past its request). They are made
(``CREATE TEMPORARY TABLE IF NOT EXISTS``, from the models, so their columns cannot drift from
what the readers ask) before every copy, which costs a fraction of a millisecond; a request's
first copy deletes what earlier ones left on the connection (``_cleanup``). Writing them takes
no lock on the records (SQLite keeps temporary tables in a database of their own). Temporary
tables live in a database session: on PostgreSQL, Perfsite needs a direct connection or
session pooling, not transaction pooling (README, "PostgreSQL").
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from django.core.signals import request_started
from django.db import connection
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models import Window as WindowExpression
from django.db.models.functions import RowNumber

from records.models import (
    SearchedAgent,
    SearchedRecord,
    SearchedSkill,
    slot_ids,
)
from records.rules.periods import Window
from records.stats.aggregates import counters_copied, row_counters
from records.stats.filters import SEARCH_CAP, RecordFilters, days_asked, newest_first, window_q
from records.stats.rollups import FACT_FIELDS

# Outside requests, the slots of the latest views a thread keeps (a request uses two: the
# view's window and the one before it): every KEPT_SLOTS copies, older slots are deleted.
KEPT_SLOTS = 16

# What the figures read of a record: what it contributes to the rollups (its id is copied as
# the row's ``source``), in SearchedRecord's field names (TaskRecord's own).
COPIED = tuple(name for name in FACT_FIELDS if name != "id")

_slots = itertools.count(1)
_local = threading.local()


def _new_request(**kwargs) -> None:
    """The request's first copy deletes every slot made before it (a request reads only its
    own; on the same thread, Django's request and its database connection go together)."""
    _local.copies = 0


request_started.connect(_new_request, dispatch_uid="records.stats.searched")


def _cleanup(cursor, first: int) -> None:
    """Empty the tables on the request's first copy (every slot before it is an earlier
    request's), and outside requests delete, on every KEPT_SLOTS-th copy, the slots before the
    latest KEPT_SLOTS. Emptied, not deleted row by row: PostgreSQL never vacuums a temporary
    table, so on a connection kept across requests every deleted copy would stay in it as dead
    rows that each later read walks past."""
    copies = getattr(_local, "copies", 1)
    _local.copies = copies + 1
    qn = connection.ops.quote_name
    tables = [qn(model._meta.db_table) for model in (SearchedSkill, SearchedAgent, SearchedRecord)]
    if copies == 0 and connection.vendor == "postgresql":
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    elif copies == 0:  # SQLite: a DELETE without WHERE empties the table at once
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
    elif copies % KEPT_SLOTS == 0:
        below = slot_ids(first - KEPT_SLOTS)[0]
        for table, column in zip(tables, ("record_id", "record_id", "id"), strict=True):
            cursor.execute(f"DELETE FROM {table} WHERE {qn(column)} < %s", [below])


def _ddl() -> list[str]:
    """The statements that make the three tables when they are missing (no index: a slot is
    read by a range of its rows' primary keys, see records.models.slot_ids), per backend."""
    found = _DDL.get(connection.vendor)
    if found is None:
        editor = connection.schema_editor()
        found = _DDL[connection.vendor] = [
            editor.table_sql(model)[0].replace(
                "CREATE TABLE", "CREATE TEMPORARY TABLE IF NOT EXISTS", 1
            )
            for model in (SearchedRecord, SearchedSkill, SearchedAgent)
        ]
    return found


_DDL: dict[str, list[str]] = {}


@dataclass(frozen=True)
class FigureFilters:
    """The filters a view's figures are read with, and whether a search's cap cut them."""

    filters: RecordFilters
    capped: bool = False  # more than SEARCH_CAP records match: the figures are of the newest
    cap: int = 0  # SEARCH_CAP when it was read


def figure_filters(window: Window, filters: RecordFilters) -> FigureFilters:
    """``filters`` as the figures of ``window`` read them: without a search, unchanged; with
    one, its newest SEARCH_CAP matches in the window (by recorded_at, then id), copied in one
    statement (``_copy_newest``) that every later one reads instead of the records."""
    if filters.search is None or filters.searched is not None:
        return FigureFilters(filters)
    return _figure_filters(filters, _copy_newest([window], filters))[0]


def figure_filters_pair(
    window: Window, previous: Window, filters: RecordFilters
) -> tuple[FigureFilters, FigureFilters | None]:
    """``figure_filters`` of ``window`` and, where one statement copies both for less than two
    would, of ``previous``, the window just before it (the change figures of the KPIs); None
    for it where not. On PostgreSQL its search index yields the matches of the two windows
    unordered, which the records must then be visited to sort: one read of both windows costs
    about half of two. SQLite walks its time index for each window and stops at the cap, so the
    second is copied only if asked for."""
    if filters.search is None or filters.searched is not None or connection.vendor != "postgresql":
        return figure_filters(window, filters), None
    now, before = _figure_filters(filters, _copy_newest([window, previous], filters))
    return now, before


# PostgreSQL: the days in which the newest SEARCH_CAP matches of a longer window are looked for
# first (``_copy_newest``).
RECENT_DAYS = timedelta(days=14)


def _copy_newest(windows: Sequence[Window], filters: RecordFilters) -> list[tuple[int, int]]:
    """Copy the newest SEARCH_CAP + 1 matches of each window (newest first: disjoint windows)
    under a slot of its own: (slot, rows copied) per window.

    SQLite: one window, its time index walked newest first (``newest_first``). PostgreSQL: one
    statement for all of them, the search index asked for their days (``row_matches``). Its
    index yields matches unordered, each visited to learn its time, so for a window longer
    than RECENT_DAYS only its last RECENT_DAYS are read first: when they hold SEARCH_CAP + 1
    matches, those are its newest (every other match is older); when they hold fewer, the
    window is copied again whole. A broad search over all time (``fix crash``: 80,516 matches
    at a million records) then visits 15,000 matches instead of all of them, and a narrow one
    pays one more index read."""
    if connection.vendor != "postgresql":
        (window,) = windows
        rows = newest_first(window, filters).annotate(window_part=Value(0))
        return _copy(rows, parts=1, limit=SEARCH_CAP + 1)
    recent = [_last_days(window) for window in windows]
    copies = _copy(_ranked(recent, filters), parts=len(windows))
    again = [
        i
        for i, (_slot, copied) in enumerate(copies)
        if copied <= SEARCH_CAP and recent[i] != windows[i]
    ]
    if again:
        _delete_slots([copies[i][0] for i in again])
        whole = _copy(_ranked([windows[i] for i in again], filters), parts=len(again), again=True)
        for i, copy in zip(again, whole, strict=True):
            copies[i] = copy
    return copies


def _last_days(window: Window) -> Window:
    """``window``, or its last RECENT_DAYS when it is longer."""
    if window.start is not None and window.end - window.start <= RECENT_DAYS:
        return window
    return Window(start=window.end - RECENT_DAYS, end=window.end)


def _ranked(windows: Sequence[Window], filters: RecordFilters) -> QuerySet:
    """PostgreSQL: the matches of ``windows`` (disjoint, newest first), each with the number of
    its window (``window_part``) and its place in it, newest first; the first SEARCH_CAP + 1 of
    each window only."""
    part = Case(
        *(When(window_q(window), then=Value(i)) for i, window in enumerate(windows)),
        default=None,
        output_field=IntegerField(),
    )
    starts = [window.start for window in windows]
    span = Window(start=None if None in starts else min(starts), end=windows[0].end)
    # the index asked for the windows' days, unless one of them is too long for it
    days = windows if all(days_asked(window) for window in windows) else []
    rows = newest_first(span, filters, days=days).annotate(
        window_part=part,
        window_rank=WindowExpression(
            RowNumber(),
            partition_by=[part],
            order_by=[F("recorded_at").desc(), F("id").desc()],
        ),
    )
    # kept by their rank, in any order
    return rows.filter(window_part__isnull=False, window_rank__lte=SEARCH_CAP + 1).order_by()


def _delete_slots(slots: Sequence[int]) -> None:
    """Delete copied slots, in one statement (before any of their links is copied)."""
    qn = connection.ops.quote_name
    ranges = " OR ".join(f"{qn('id')} BETWEEN %s AND %s" for _ in slots)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {qn(SearchedRecord._meta.db_table)} WHERE {ranges}",
            [bound for slot in slots for bound in slot_ids(slot)],
        )


def _figure_filters(filters: RecordFilters, copies: list[tuple[int, int]]) -> list[FigureFilters]:
    """The figure filters of copied slots (slot, rows copied): a slot of one row more than the
    cap tells that the cap cut the matches, and its oldest row goes."""
    found = []
    for slot, copied in copies:
        capped = copied > SEARCH_CAP
        if capped:
            drop_oldest(slot)
        found.append(FigureFilters(replace(filters, searched=slot), capped=capped, cap=SEARCH_CAP))
    return found


def _copy(
    records: QuerySet, *, parts: int, limit: int | None = None, again: bool = False
) -> list[tuple[int, int]]:
    """Copy ``records`` (TaskRecords in the order they are to be kept, newest first, each with
    its part in ``window_part``, 0 to ``parts`` - 1; the first ``limit`` of them), each part
    under a new slot: (the slot, how many were copied) per part. One statement, whatever their
    number (their links follow when read: records.stats.copies). ``again``: a second copy of
    the same view, into the tables the first made and emptied."""
    qn = connection.ops.quote_name
    slots = [next(_slots) for _ in range(parts)]
    table = qn(SearchedRecord._meta.db_table)
    with connection.cursor() as cursor:
        if not again:
            for statement in _ddl():
                cursor.execute(statement)
            _cleanup(cursor, slots[0])
        counters = row_counters() if counters_copied() else {}
        rows = records.annotate(**{f"c_{name}": value for name, value in counters.items()})
        fields = ("id", *COPIED, *(f"c_{name}" for name in counters))
        rows = rows.values_list("window_part", *fields)[:limit]
        sql, params = rows.query.sql_with_params()
        names = ("id", "slot", "source", *_columns(COPIED), *_columns(counters))
        slot_of = "CASE m.window_part " + " ".join("WHEN %s THEN %s" for _ in slots) + " END"
        slot_params = [value for part, slot in enumerate(slots) for value in (part, slot)]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(qn(name) for name in names)}) "
            f"SELECT m.{qn('id')} + {slot_of} * %s, {slot_of}, "
            + ", ".join(f"m.{qn(field)}" for field in fields)
            + f" FROM ({sql}) m",
            [*slot_params, slot_ids(1)[0], *slot_params, *params],
        )
        copied = {slots[0]: cursor.rowcount}
        if parts > 1:
            cursor.execute(
                f"SELECT {qn('slot')}, COUNT(*) FROM {table} WHERE {qn('id')} >= %s "
                f"GROUP BY {qn('slot')}",
                [slot_ids(slots[0])[0]],
            )
            copied = dict(cursor.fetchall())
    return [(slot, copied.get(slot, 0)) for slot in slots]


def drop_oldest(slot: int) -> None:
    """Remove the slot's oldest record (by time, then id) and its links: a copy of one row more
    than the cap tells that the cap cut the matches."""
    qn = connection.ops.quote_name
    table = qn(SearchedRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn('id')} FROM {table} WHERE {qn('id')} BETWEEN %s AND %s "
            f"ORDER BY {qn('recorded_at')}, {qn('id')} LIMIT 1",
            slot_ids(slot),
        )
        (oldest,) = cursor.fetchone()
        for link in (SearchedSkill, SearchedAgent):
            cursor.execute(
                f"DELETE FROM {qn(link._meta.db_table)} WHERE {qn('record_id')} = %s", [oldest]
            )
        cursor.execute(f"DELETE FROM {table} WHERE {qn('id')} = %s", [oldest])


def _columns(names: Sequence[str]) -> list[str]:
    return [SearchedRecord._meta.get_field(name).column for name in names]
