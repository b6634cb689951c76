"""The recent-records position in a URL (``?cursor=``): keyset paging under any sort.

A page ends at a row; the cursor is that row's sort value and id, and the next page continues
strictly after it in the same order, so no row repeats and none is skipped, ties and NULLs
included. The default order (newest first) keeps its short form ``<µs since epoch>-<id>``;
other sorts write ``<sort>:<value>:<id>`` (value: a number, ``~`` for NULL, ``s`` + base64 of a
text), so a cursor made for one sort is refused under another.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from records.models import TaskRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

DEFAULT_SORT = "-recorded_at"
# ?sort= column -> (record field read for the cursor, ORM path ordered on, kind of value)
SORT_COLUMNS: dict[str, tuple[str, str]] = {
    "recorded_at": ("recorded_at", "time"),
    "task_type": ("task_type", "text"),
    "model": ("model__name", "text"),
    "quality_score": ("quality_score", "number"),
    "performance_index": ("performance_index", "number"),
    "time_efficiency": ("time_efficiency", "number"),
    "duration_seconds": ("duration_seconds", "number"),
}
SORTS = tuple(f"{sign}{name}" for name in SORT_COLUMNS for sign in ("-", ""))
_NULL = "~"


def sort_column(sort: str) -> tuple[str, bool]:
    """(column, descending) of a ``?sort=`` value from SORTS."""
    return sort.removeprefix("-"), sort.startswith("-")


def _micros(at: datetime) -> str:
    return str((at - _EPOCH) // _MICROSECOND)


def _time(text: str) -> datetime:
    if not text.isdigit():
        raise ValueError("A cursor looks like 1732610000123456-42.")
    try:
        return _EPOCH + int(text) * _MICROSECOND
    except OverflowError as exc:
        raise ValueError("The cursor's time is out of range.") from exc


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the sort value and id of the last row shown."""

    value: Any  # datetime, float, str or None (a NULL), of the sort's column
    id: int
    sort: str = DEFAULT_SORT

    @property
    def recorded_at(self) -> datetime:  # the default sort's value
        return self.value

    def encode(self) -> str:
        if self.sort == DEFAULT_SORT:
            return f"{_micros(self.value)}-{self.id}"
        kind = SORT_COLUMNS[sort_column(self.sort)[0]][1]
        if self.value is None:
            value = _NULL
        elif kind == "time":
            value = _micros(self.value)
        elif kind == "text":
            value = "s" + base64.urlsafe_b64encode(self.value.encode()).decode().rstrip("=")
        else:
            value = repr(float(self.value))
        return f"{self.sort}:{value}:{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse a cursor of any sort; raise ValueError for anything else."""
        value = value.strip()
        if ":" not in value:
            micros, sep, pk = value.partition("-")
            if not sep or not pk.isdigit():
                raise ValueError("A cursor looks like 1732610000123456-42.")
            return cls(value=_time(micros), id=int(pk))
        sort, _, rest = value.partition(":")
        text, _, pk = rest.rpartition(":")
        if sort not in SORTS or not pk.isdigit():
            raise ValueError("A cursor looks like quality_score:92.5:42.")
        kind = SORT_COLUMNS[sort_column(sort)[0]][1]
        return cls(value=None if text == _NULL else _value(kind, text), id=int(pk), sort=sort)

    @classmethod
    def of(cls, record: TaskRecord, sort: str = DEFAULT_SORT) -> Cursor:
        field = SORT_COLUMNS[sort_column(sort)[0]][0]
        value = record.model.name if field == "model__name" else getattr(record, field)
        return cls(value=value, id=record.pk, sort=sort)


def _value(kind: str, text: str) -> Any:
    if kind == "time":
        return _time(text)
    if kind == "text":
        if not text.startswith("s"):
            raise ValueError("The cursor's text value is not readable.")
        try:
            padded = text[1:] + "=" * (-len(text[1:]) % 4)
            decoded = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("The cursor's text value is not readable.") from exc
        if "\x00" in decoded:  # never stored, and PostgreSQL cannot even compare with it
            raise ValueError("The cursor's text value is not readable.")
        return decoded
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueError("The cursor's value is not a number.") from exc
    if not math.isfinite(number):
        raise ValueError("The cursor's value is not a number.")
    return number
