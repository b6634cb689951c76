"""The records and rollup tables carry no index another index already leads with (0015, 0016): each
would cost every recorded task one more entry and serve no query the leading index does not."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

TABLES = [
    "records_taskrecord",
    "records_recordskill",
    "records_recordagent",
    "records_rollup",
    "records_skillrollup",
    "records_agentrollup",
    "records_typerollup",
]


def _partial() -> set[str]:
    """Indexes with a condition: they hold only some rows, so no other index covers them."""
    return {
        index.name
        for model in apps.get_app_config("records").get_models()
        for index in model._meta.indexes
        if index.condition is not None
    }


def _indexes(table: str) -> dict[str, list[tuple[str, str]]]:
    """Index (or unique constraint) name -> its (column, order) pairs, in order; not partial."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    partial = _partial()
    return {
        name: list(
            zip(info["columns"], info.get("orders") or ["ASC"] * len(info["columns"]), strict=True)
        )
        for name, info in found.items()
        if (info["index"] or info["unique"])
        and info["columns"]
        and not info["primary_key"]
        and name not in partial
    }


@pytest.mark.parametrize("table", TABLES)
def test_no_index_is_the_prefix_of_another(table):
    indexes = _indexes(table)
    covered = [
        (name, columns, other)
        for name, columns in indexes.items()
        for other, longer in indexes.items()
        if other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
    ]
    assert covered == []


def test_the_lookups_the_dropped_indexes_served_still_have_a_leading_index():
    led_by = {table: {columns[0][0] for columns in _indexes(table).values()} for table in TABLES}
    assert "model_id" in led_by["records_taskrecord"]
    assert "record_id" in led_by["records_recordskill"]
    assert "record_id" in led_by["records_recordagent"]
