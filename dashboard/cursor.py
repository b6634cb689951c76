"""The recent-records position in a URL (``?cursor=``): keyset paging on (recorded_at, id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from records.models import TaskRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the (recorded_at, id) of the last row shown; the next page is older."""

    recorded_at: datetime
    id: int

    def encode(self) -> str:
        return f"{(self.recorded_at - _EPOCH) // _MICROSECOND}-{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse ``<microseconds since epoch>-<id>``; raise ValueError for anything else."""
        micros, sep, pk = value.strip().partition("-")
        if not sep or not micros.isdigit() or not pk.isdigit():
            raise ValueError("A cursor looks like 1732610000123456-42.")
        try:
            at = _EPOCH + int(micros) * _MICROSECOND
        except OverflowError as exc:
            raise ValueError("The cursor's time is out of range.") from exc
        return cls(recorded_at=at, id=int(pk))

    @classmethod
    def of(cls, record: TaskRecord) -> Cursor:
        return cls(recorded_at=record.recorded_at, id=record.pk)
