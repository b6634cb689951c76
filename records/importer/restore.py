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

from records.importer.reading import MSG_TOO_DEEP
from records.recording.schema import (
    COMPLEXITIES,
    MAX_ADVICE,
    MAX_COST,
    MAX_IMPROVEMENT,
    MAX_LABEL,
    MAX_RECORD_ID,
    MAX_TEXT,
    MSG_NOT_INTEGER,
    MSG_NOT_LIST,
    FieldReader,
    json_safe_payload,
)
from records.rules.classification import CANONICAL_TYPES
from records.rules.names import normalise_model_name
from records.stats.exports import EXPORT_VERSION, FIELDS, LATER_FIELDS

HEADER_KEY = "perfsite_export"
SNIFF_BYTES = 64 * 1024
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
    missing = [
        name
        for name in FIELDS
        if name not in LATER_FIELDS and (not isinstance(fields, list) or name not in fields)
    ]
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
                except RecursionError:  # nested past the decoder's stack: refused, not fatal
                    value = RowError([MSG_TOO_DEEP])
                yield number, value, handle.tell()
        except OSError as exc:
            raise ExportReadError(f"cannot read: {exc.strerror or exc}") from exc


def _bounded(r: FieldReader, row: dict, name: str, *, nullable: bool, low: float, high: float):
    value = row[name]
    if value is None and nullable:
        return None
    number = r.number(name, value)
    if number is not None and not low <= number <= high:
        r.problem(name, f"Must be a number from {low:g} to {high:g}.", value)
    return number


def _counted(r: FieldReader, row: dict, name: str, *, nullable: bool):
    value = row[name]
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        r.problem(name, MSG_NOT_INTEGER, value)
        return None
    return r.count(name, value)


def _required_text(r: FieldReader, row: dict, name: str, limit: int) -> str | None:
    text = r.text(name, row[name], limit)
    if text is not None and not text:
        r.problem(name, "Must not be empty.", row[name])
    return row[name] if text else None


def _flag(r: FieldReader, row: dict, name: str) -> bool | None:
    return r.flag(name, row[name])


def exported_record(row: Any) -> ExportedRecord:
    """Check one exported line with the task schema's readers and limits; raise ``RowError``
    naming every bad field. Names are cleaned and capped as every door caps them, so an export
    made by an older Perfsite restores in full."""
    if not isinstance(row, dict):
        raise RowError([f"a record must be a JSON object, not {type(row).__name__}"])
    row = LATER_FIELDS | row
    missing = [name for name in FIELDS if name not in row]
    if missing:
        raise RowError([f"missing fields: {', '.join(missing)}"])
    r = FieldReader(row, lenient=False, warnings=[])
    names_reader = FieldReader(row, lenient=True, warnings=[])
    record_id = _required_text(r, row, "record_id", MAX_RECORD_ID)
    recorded_at = None
    if isinstance(row["recorded_at"], str):
        with contextlib.suppress(ValueError):
            recorded_at = datetime.fromisoformat(row["recorded_at"])
    if recorded_at is None or recorded_at.tzinfo is None:
        r.problem("recorded_at", "Must be an ISO 8601 time with a UTC offset.", row["recorded_at"])
    if row["task_type"] not in CANONICAL_TYPES:
        r.problem("task_type", f"Must be one of {', '.join(CANONICAL_TYPES)}.", row["task_type"])
    r.text("task_label", row["task_label"], MAX_LABEL)
    r.text("description", row["description"], MAX_TEXT)
    if row["complexity"] not in ["", *COMPLEXITIES]:
        r.problem(
            "complexity", f"Must be empty or one of {', '.join(COMPLEXITIES)}.", row["complexity"]
        )
    model = _required_text(r, row, "model", MAX_TEXT)
    names: dict[str, list[str]] = {}
    for name in LIST_FIELDS:
        value = row[name]
        # Names are cleaned and capped (lenient), not refused: what an older version stored
        # longer than every door allows now still restores.
        cleaned = names_reader.names(name, value) if isinstance(value, list) else None
        if not isinstance(value, list):
            r.problem(name, MSG_NOT_LIST, value)
        elif cleaned is not None and len(cleaned) != len(value):
            r.problem(name, "Must list each name once, none of them blank.", value)
        names[name] = cleaned or []
    _flag(r, row, "success")
    _flag(r, row, "auto_generated")
    _bounded(r, row, "quality_score", nullable=False, low=0.0, high=100.0)
    _bounded(r, row, "performance_index", nullable=False, low=0.0, high=100.0)
    _bounded(r, row, "time_efficiency", nullable=True, low=0.0, high=100.0)
    _bounded(
        r, row, "quality_improvement", nullable=True, low=-MAX_IMPROVEMENT, high=MAX_IMPROVEMENT
    )
    _bounded(r, row, "duration_seconds", nullable=True, low=0.0, high=math.inf)
    for name in NULLABLE_COUNTS:
        _counted(r, row, name, nullable=True)
    _counted(r, row, "issues_count", nullable=False)
    for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"):
        _counted(r, row, name, nullable=True)
    _bounded(r, row, "cost_usd", nullable=True, low=0.0, high=MAX_COST)
    for name in ("session_id", "git_branch", "project", "cost_source"):
        r.text(name, row[name], MAX_LABEL)
    r.text("advice", row["advice"], MAX_ADVICE)
    for name in JSON_LIST_FIELDS:
        if not isinstance(row[name], list):
            r.problem(name, "Must be a list.", row[name])
    if not isinstance(row["score_breakdown"], dict):
        r.problem("score_breakdown", "Must be an object.", row["score_breakdown"])
    _required_text(r, row, "source", MAX_SOURCE)
    raw = row["raw"]
    if not isinstance(raw, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("source"), str) and "payload" in entry
        for entry in raw
    ):
        r.problem("raw", 'Must be a list of {"source": ..., "payload": ...} objects.', raw)
    reasons = [problem.reason() for problem in r.problems + names_reader.problems]
    if not reasons:
        # Each payload on its own, as it was checked when it was recorded: wrapping it in the
        # export's raw list must not push a payload at the depth limit over it.
        parts = [entry["payload"] for entry in raw]
        parts.append({name: row[name] for name in FIELDS if name != "raw"})
        for part in parts:
            try:
                json_safe_payload(part)
            except ValidationError as exc:
                reasons.extend(f"{n}: {m}" for n, ms in exc.message_dict.items() for m in ms)
                break
    if reasons:
        raise RowError(reasons)
    values = {
        name: row[name]
        for name in FIELDS
        if name not in {"record_id", "model", "skills", "agents", "recorded_at"}
    }
    for name in ("quality_score", "performance_index", "cost_usd", *NULLABLE_FLOATS):
        if values[name] is not None:
            values[name] = float(values[name])
    values["recorded_at"] = recorded_at.astimezone(UTC)
    # As it would export again once stored: UTC time, floats for float fields.
    as_stored = {name: row[name] for name in FIELDS} | {
        name: values[name]
        for name in ("quality_score", "performance_index", "cost_usd", *NULLABLE_FLOATS)
    }
    as_stored["recorded_at"] = values["recorded_at"].isoformat()
    return ExportedRecord(
        record_id=record_id,
        values=values,
        model=normalise_model_name(model),
        skills=names["skills"],
        agents=names["agents"],
        row=as_stored,
    )
