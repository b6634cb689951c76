"""Perfsite's own JSON Lines export (``export_records``) read back: records restored as exported.

A perfsite export starts with the header line ``{"perfsite_export": 1, "fields": [...]}``; every
further line is one record with every stored field, its skills, agents and raw payloads. Restoring
does not re-score or re-classify: the values are checked (types, ranges, lengths) and written as
they are, so an export imported into an empty database reproduces the records exactly.

Pure functions and a line-by-line reader: memory stays flat however large the file is.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from records.models import Complexity
from records.recording.schema import MAX_COUNT, MAX_RECORD_ID
from records.recording.services import json_safe_payload
from records.rules.classification import CANONICAL_TYPES
from records.stats.exports import EXPORT_VERSION, FIELDS

HEADER_KEY = "perfsite_export"
SNIFF_BYTES = 64 * 1024
MAX_NAME = 200
MAX_LABEL = 200
MAX_SOURCE = 255
LIST_FIELDS = ("skills", "agents")
JSON_LIST_FIELDS = ("issues", "recommendations")
NULLABLE_FLOATS = ("time_efficiency", "quality_improvement", "duration_seconds")
NULLABLE_COUNTS = ("files_modified", "lines_changed")


class ExportReadError(Exception):
    """The file as a whole is not a readable perfsite export; the message says why."""


class RowError(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ExportedRecord:
    """One exported record, checked: ``values`` are TaskRecord field values, ready to store."""

    record_id: str
    values: dict[str, Any]  # every TaskRecord column of FIELDS except record_id, model, names
    model: str
    skills: list[str]
    agents: list[str]
    row: dict[str, Any]  # the line as read, to compare with what is stored

    @property
    def identity(self) -> str:
        return f"record_id {self.record_id}"


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.readline(SNIFF_BYTES)


def header_of(line: bytes) -> dict[str, Any] | None:
    """The decoded header if ``line`` is a perfsite export header, else None."""
    try:
        header = json.loads(line.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(header, dict) and HEADER_KEY in header:
        return header
    return None


def is_export(path: Path) -> bool:
    """Whether ``path`` starts with a perfsite export header line (False if unreadable)."""
    try:
        return header_of(_first_line(path)) is not None
    except OSError:
        return False


def check_header(path: Path) -> None:
    """Raise ``ExportReadError`` unless the file's first line is a header this version reads."""
    try:
        line = _first_line(path)
    except OSError as exc:
        raise ExportReadError(f"cannot read: {exc.strerror or exc}") from exc
    if not line.strip():
        raise ExportReadError("empty file: no perfsite_export header line")
    header = header_of(line)
    if header is None:
        raise ExportReadError(
            'not a perfsite export: the first line is not the {"perfsite_export": 1, ...} header'
        )
    if header[HEADER_KEY] != EXPORT_VERSION:
        raise ExportReadError(
            f"perfsite_export version {header[HEADER_KEY]!r} is not supported "
            f"(this Perfsite reads version {EXPORT_VERSION})"
        )
    fields = header.get("fields")
    missing = [name for name in FIELDS if not isinstance(fields, list) or name not in fields]
    if missing:
        raise ExportReadError(f"the header lacks fields: {', '.join(missing)}")


def iter_lines(path: Path) -> Iterator[tuple[int, Any, int]]:
    """(line number, decoded JSON or a ``RowError``, bytes read) for each line after the header.

    Blank lines are passed over; a line that is not UTF-8 JSON yields a ``RowError``.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except OSError as exc:
        raise ExportReadError(f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        handle.readline()  # the header, checked by check_header
        number = 1
        try:
            for line in handle:
                number += 1
                if not line.strip():
                    continue
                try:
                    value: Any = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError:
                    value = RowError(["not UTF-8 text"])
                except ValueError as exc:
                    value = RowError([f"invalid JSON: {exc}"])
                yield number, value, handle.tell()
        except OSError as exc:
            raise ExportReadError(f"cannot read: {exc.strerror or exc}") from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(row: dict, name: str, reasons: list[str], *, limit: int | None, empty: bool = True):
    value = row.get(name)
    if not isinstance(value, str):
        reasons.append(f"{name}: must be a string")
    elif limit is not None and len(value) > limit:
        reasons.append(f"{name}: longer than {limit} characters")
    elif not empty and not value.strip():
        reasons.append(f"{name}: must not be empty")
    return value


def _score(row: dict, name: str, reasons: list[str], *, nullable: bool, low=0.0, high=100.0):
    value = row.get(name)
    if value is None and nullable:
        return None
    if not _is_number(value) or not low <= value <= high:
        reasons.append(
            f"{name}: must be a number from {low:g} to {high:g}" + (" or null" if nullable else "")
        )
    return value


def _count(row: dict, name: str, reasons: list[str], *, nullable: bool):
    value = row.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        reasons.append(f"{name}: must be a whole number from 0 to {MAX_COUNT}")
    return value


def _flag(row: dict, name: str, reasons: list[str]):
    value = row.get(name)
    if not isinstance(value, bool):
        reasons.append(f"{name}: must be true or false")
    return value


def exported_record(row: Any) -> ExportedRecord:
    """Check one exported line; raise ``RowError`` naming every bad field."""
    if not isinstance(row, dict):
        raise RowError([f"a record must be a JSON object, not {type(row).__name__}"])
    missing = [name for name in FIELDS if name not in row]
    if missing:
        raise RowError([f"missing fields: {', '.join(missing)}"])
    reasons: list[str] = []
    record_id = _text(row, "record_id", reasons, limit=MAX_RECORD_ID, empty=False)
    recorded_at = None
    if isinstance(row["recorded_at"], str):
        with contextlib.suppress(ValueError):
            recorded_at = datetime.fromisoformat(row["recorded_at"])
    if recorded_at is None or recorded_at.tzinfo is None:
        reasons.append("recorded_at: must be an ISO 8601 time with a UTC offset")
    if row["task_type"] not in CANONICAL_TYPES:
        reasons.append(f"task_type: must be one of {', '.join(CANONICAL_TYPES)}")
    _text(row, "task_label", reasons, limit=MAX_LABEL)
    _text(row, "description", reasons, limit=None)
    if row["complexity"] not in ["", *Complexity.values]:
        reasons.append(f"complexity: must be empty or one of {', '.join(Complexity.values)}")
    model = _text(row, "model", reasons, limit=MAX_NAME, empty=False)
    for name in LIST_FIELDS:
        names = row[name]
        if not isinstance(names, list) or not all(
            isinstance(n, str) and n.strip() and len(n) <= MAX_NAME for n in names
        ):
            reasons.append(f"{name}: must be a list of names (1 to {MAX_NAME} characters)")
        elif len(set(names)) != len(names):
            reasons.append(f"{name}: lists a name twice")
    _flag(row, "success", reasons)
    _flag(row, "auto_generated", reasons)
    _score(row, "quality_score", reasons, nullable=False)
    _score(row, "performance_index", reasons, nullable=False)
    _score(row, "time_efficiency", reasons, nullable=True)
    _score(row, "quality_improvement", reasons, nullable=True, low=-100.0)
    duration = row["duration_seconds"]
    if duration is not None and (not _is_number(duration) or duration < 0):
        reasons.append("duration_seconds: must be a number of seconds, 0 or more, or null")
    for name in NULLABLE_COUNTS:
        _count(row, name, reasons, nullable=True)
    _count(row, "issues_count", reasons, nullable=False)
    for name in JSON_LIST_FIELDS:
        if not isinstance(row[name], list):
            reasons.append(f"{name}: must be a list")
    if not isinstance(row["score_breakdown"], dict):
        reasons.append("score_breakdown: must be an object")
    _text(row, "source", reasons, limit=MAX_SOURCE, empty=False)
    raw = row["raw"]
    if not isinstance(raw, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("source"), str) and "payload" in entry
        for entry in raw
    ):
        reasons.append('raw: must be a list of {"source": ..., "payload": ...} objects')
    if not reasons:
        try:
            json_safe_payload({name: row[name] for name in FIELDS})
        except ValidationError as exc:
            reasons.extend(f"{name}: {m}" for name, ms in exc.message_dict.items() for m in ms)
    if reasons:
        raise RowError(reasons)
    values = {
        name: row[name]
        for name in FIELDS
        if name not in {"record_id", "model", "skills", "agents", "recorded_at"}
    }
    for name in ("quality_score", "performance_index", *NULLABLE_FLOATS):
        if values[name] is not None:
            values[name] = float(values[name])
    values["recorded_at"] = recorded_at.astimezone(UTC)
    # As it would export again once stored: UTC time, floats for float fields.
    as_stored = {name: row[name] for name in FIELDS} | {
        name: values[name] for name in ("quality_score", "performance_index", *NULLABLE_FLOATS)
    }
    as_stored["recorded_at"] = values["recorded_at"].isoformat()
    return ExportedRecord(
        record_id=record_id,
        values=values,
        model=model,
        skills=list(row["skills"]),
        agents=list(row["agents"]),
        row=as_stored,
    )
