"""Reads of one model, skill or agent find its rollup rows by name and time, not by name alone;
reads of a window's edge records find them by filter and time, not by filter alone.

SQLite keeps no statistics. With a model, skill or agent name joined to the rollup rows, it
searched the (name, span, start) index by the name's id only: the OR of the window's span and
start ranges cannot extend the key, so every rollup row of that name in the whole history was
read (the heat map over four models took 88 ms at 200k records, against 7 ms for all models of
the window). These tests run the pages that read one name (a model filter, compare, the heat
map, the recommendations of a model) and check SQLite's plan of every statement they ran.

The same shape hit the records of a window's two partial hours: with a task type (or model,
AUTO, project) filter outside the OR of the two time ranges, SQLite searched the (task type,
time) index by the type alone and walked every record of the type in the history (the
recommendations of one type over a week at 1M records: 31.6 ms for 72 edge records).
PostgreSQL chooses by its statistics, which a test database of a few rows does not represent.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import record_scored

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="SQLite's plans only: PostgreSQL plans by statistics a small test table lacks",
    ),
]

# A search of a name's rollup index keyed by the name's id alone (no span, no start).
NAME_ONLY = re.compile(
    r"INDEX (\w*rollup_(model|skill|agent)_time_idx) \((model|skill|agent)_id=\?\)$"
)

PAGES = [
    ("dashboard:index", {"period": "all", "model": "GLM 4.6"}),
    ("dashboard:index", {"period": "7d"}),  # the heat map reads the shown models by name
    ("dashboard:compare", {"a": "model:GLM 4.6", "b": "model:GPT-5", "period": "30d"}),
    ("dashboard:compare", {"a": "skill:code-analysis", "b": "noskill:code-analysis"}),
    ("dashboard:api-summary", {"days": "36500"}),
    ("dashboard:api-recommendations", {"task_type": "debugging", "model": "GPT-5"}),
]


@pytest.fixture
def history():
    """Records an hour, a day and weeks old: hour, day and month rollup rows in the windows."""
    for minutes in (5, 90, 26 * 60, 20 * 24 * 60, 50 * 24 * 60):
        for model in ("GLM 4.6", "GPT-5"):
            record_scored(
                "debugging",
                model,
                80,
                skills=["code-analysis"],
                agents=["reviewer"],
                minutes_ago=minutes,
            )


def _run(client, name, query) -> list[tuple[str, tuple]]:
    """The page's statements with their parameters, as the database got them: SQLite plans a
    statement with literals otherwise than with parameters (it may factor a literal that every
    OR branch repeats out of the OR)."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        response = client.get(reverse(name), query)
    assert response.status_code == 200
    return statements


def _plan_lines(statements):
    """(line of SQLite's plan, statement) for every line of every read's plan."""
    with connection.cursor() as cursor:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            for row in cursor.fetchall():
                yield str(row[-1]), sql


def _walks(statements, pattern: re.Pattern) -> list[tuple[str, str]]:
    return [(line, sql[:200]) for line, sql in _plan_lines(statements) if pattern.search(line)]


@pytest.mark.parametrize(("name", "query"), PAGES)
def test_no_read_walks_every_rollup_row_of_a_name(client, history, name, query):
    statements = _run(client, name, query)
    walks = _walks(statements, NAME_ONLY)
    assert not walks, walks
    # the pages read rollup rows at all (a page that read none would pass the check above)
    assert any(re.search(r"rollup\w*\b", sql) for sql, _ in statements)


# A search of the records' (column, time) index by the column alone: no time range.
FILTER_ONLY = re.compile(
    r"INDEX (record_(type|model|auto|project)_time_idx) "
    r"\((task_type|model_id|auto_generated|project)=\?\)$"
)

FILTERED_PAGES = [
    ("dashboard:index", {"period": "7d", "task_type": "debugging"}),
    ("dashboard:index", {"period": "30d", "model": "GLM 4.6", "source": "manual"}),
    ("dashboard:api-recommendations", {"task_type": "debugging", "days": "7"}),
    ("dashboard:api-summary", {"days": "7", "task_type": "debugging"}),
]


@pytest.mark.parametrize(("name", "query"), FILTERED_PAGES)
def test_no_edge_read_walks_every_record_of_a_filter(client, history, name, query):
    # The sums of the window (rollup rows and edge records), not the lookups of one record
    # (the first record of a filter walks that index in time order and stops at the first).
    statements = [(sql, p) for sql, p in _run(client, name, query) if "SUM(" in sql]
    walks = _walks(statements, FILTER_ONLY)
    assert not walks, walks
    # the edge records were read by their time (a page that read none would pass the check)
    assert _walks(statements, re.compile(r"_time_idx \(\w+=\? AND recorded_at>\?"))
