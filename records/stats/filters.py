"""The dashboard's filter set, shared by every selector, aggregate and insight."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from records.rules.classification import CANONICAL_TYPES

SOURCE_AUTO = "auto"
SOURCE_MANUAL = "manual"
SOURCES = (SOURCE_AUTO, SOURCE_MANUAL)


@dataclass(frozen=True)
class RecordFilters:
    """The dashboard's filters; ``None`` means "any"."""

    model: str | None = None
    task_type: str | None = None
    source: str | None = None  # SOURCE_AUTO or SOURCE_MANUAL

    def __post_init__(self) -> None:
        if self.task_type is not None and self.task_type not in CANONICAL_TYPES:
            raise ValueError(f"Unknown task type {self.task_type!r}.")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"Unknown source {self.source!r}; use auto or manual.")

    @property
    def active(self) -> bool:
        return any((self.model, self.task_type, self.source))

    def q(self, prefix: str = "") -> Q:
        """The filter as a Q on records (``prefix`` "record__" from a skill or agent link, ""
        from a record or a rollup row, which carry the same dimensions)."""
        q = Q()
        if self.model is not None:
            q &= Q(**{f"{prefix}model__name": self.model})
        if self.task_type is not None:
            q &= Q(**{f"{prefix}task_type": self.task_type})
        if self.source is not None:
            q &= Q(**{f"{prefix}auto_generated": self.source == SOURCE_AUTO})
        return q


NO_FILTERS = RecordFilters()
