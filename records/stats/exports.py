"""Streaming export of records, with every raw payload: JSON Lines or CSV.

``export_rows`` reads in keyset batches (two extra queries per batch for skills and agents), so
memory stays flat and a million records stream without a long-held cursor.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from records.models import RecordAgent, RecordSkill, TaskRecord

EXPORT_VERSION = 1
BATCH = 2_000
FIELDS = [
    "record_id",
    "recorded_at",
    "task_type",
    "task_label",
    "description",
    "complexity",
    "model",
    "skills",
    "agents",
    "success",
    "quality_score",
    "performance_index",
    "time_efficiency",
    "quality_improvement",
    "duration_seconds",
    "files_modified",
    "lines_changed",
    "issues",
    "issues_count",
    "recommendations",
    "score_breakdown",
    "auto_generated",
    "session_id",
    "project",
    "git_branch",
    "advice",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost_usd",
    "cost_source",
    "source",
    "raw",
]
# Added after version 1 was first written: an export without them restores with them empty.
LATER_FIELDS = {
    "session_id": "",
    "project": "",
    "git_branch": "",
    "advice": "",
    "input_tokens": None,
    "output_tokens": None,
    "cache_read_tokens": None,
    "cache_creation_tokens": None,
    "cost_usd": None,
    "cost_source": "",
}
FORMATS = ("jsonl", "csv")


_COLUMNS = [name for name in FIELDS if name not in {"model", "skills", "agents"}]


def export_rows(*, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every record (recorded after ``since``, if given) as a plain dict, oldest first."""
    qs = TaskRecord.objects.order_by("recorded_at", "id").values("id", "model__name", *_COLUMNS)
    if since is not None:
        qs = qs.filter(recorded_at__gt=since)
    last: tuple[datetime, int] | None = None
    while True:
        page = qs
        if last is not None:
            # The leading >= lets the database range-scan the (recorded_at, id) index.
            page = qs.filter(
                Q(recorded_at__gte=last[0]),
                Q(recorded_at__gt=last[0]) | Q(recorded_at=last[0], id__gt=last[1]),
            )
        batch = list(page[:BATCH])
        if not batch:
            return
        last = (batch[-1]["recorded_at"], batch[-1]["id"])
        yield from _as_rows(batch)


def queryset_rows(records: QuerySet[TaskRecord]) -> Iterator[dict[str, Any]]:
    """The rows of ``records`` in their own order (a dashboard view's), read through one
    chunked iterator; skills and agents are looked up per BATCH rows, so memory stays flat."""
    batch: list[dict[str, Any]] = []
    for row in records.values("id", "model__name", *_COLUMNS).iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield from _as_rows(batch)
            batch = []
    yield from _as_rows(batch)


def rows_for(record_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{record_id: exported row} of the stored records among ``record_ids``."""
    batch = list(
        TaskRecord.objects.filter(record_id__in=record_ids).values("id", "model__name", *_COLUMNS)
    )
    return {row["record_id"]: row for row in _as_rows(batch)}


def _as_rows(batch: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    if not batch:
        return
    ids = [row["id"] for row in batch]
    skills = _names(RecordSkill, "skill__name", ids)
    agents = _names(RecordAgent, "agent__name", ids)
    for row in batch:
        pk = row.pop("id")
        row["recorded_at"] = row["recorded_at"].isoformat()
        row["model"] = row.pop("model__name")
        row["skills"] = skills[pk]
        row["agents"] = agents[pk]
        yield {name: row[name] for name in FIELDS}


def _names(through, name_field: str, ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    rows = through.objects.filter(record_id__in=ids).order_by("id")
    for pk, name in rows.values_list("record_id", name_field):
        names[pk].append(name)
    return names


def jsonl_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield json.dumps({"perfsite_export": EXPORT_VERSION, "fields": FIELDS}) + "\n"
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """CSV with one column per field; lists and objects as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
                for value in (row[name] for name in FIELDS)
            ]
        )
        yield buffer.getvalue()
