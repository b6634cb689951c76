"""Validation of one task's data, shared by the Python API, the HTTP API and the CLI.

``clean_task_data`` turns an untrusted mapping into a ``CleanTask`` or raises
``django.core.exceptions.ValidationError`` whose ``error_dict`` names every bad field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from records.models import Complexity

MAX_TEXT = 20_000
MAX_LABEL = 200
MAX_COMPLEXITY = 20
MAX_LIST_ITEMS = 500
MAX_ITEM_TEXT = 2_000
MAX_COUNT = 2_147_483_647
MAX_DURATION = 366 * 24 * 3600  # a year: anything longer is a unit mistake
MAX_RECORD_ID = 200
MIN_YEAR, MAX_YEAR = 2000, 2100

# recorded_at as the API takes it: ISO 8601 / RFC 3339 with real calendar dates in years
# 2000-2100; time, seconds, fraction and offset optional (no offset means UTC). The OpenAPI
# schema publishes this same pattern, so the fuzzer and the validator agree on every string.
_YEAR = "(?:20[0-9]{2}|2100)"
_LEAP_YEAR = "(?:20(?:0[048]|[2468][048]|[13579][26]))"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)"
    "|(?:0[13578]|1[02])-31)"
)
_TIME = "[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?"
_OFFSET = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)(?:{_TIME}{_OFFSET}?)?$"
TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)

MSG_NOT_NUMBER = "Must be a number."
MSG_NOT_FINITE = "Must be a finite number (not NaN or Infinity)."
MSG_NEGATIVE = "Must not be negative."
MSG_NOT_INTEGER = "Must be a whole number."
MSG_NOT_BOOL = "Must be true or false."
MSG_NOT_TEXT = "Must be a string."
MSG_NOT_LIST = "Must be a list of strings."
MSG_NUL = "Must not contain NUL characters."
MSG_COMPLEXITY = "Must be one of: simple, medium, complex."
MSG_TIMESTAMP = "Must be an ISO 8601 timestamp, e.g. 2025-10-21T11:28:00Z."
MSG_NO_TASK = "Give a task_type or a description."
MSG_RECORD_ID_EMPTY = "Must not be empty."
MSG_RECORD_ID_CHARS = "Must not contain whitespace, '/', '?' or '#'."
RECORD_ID_FORBIDDEN = "/?#"


@dataclass
class CleanTask:
    """task_data after validation: plain, typed values ready for the write service."""

    task_label: str = ""
    description: str = ""
    complexity: str = ""
    model: str | None = None
    duration_seconds: float | None = None
    success: bool = True
    skills: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    files_modified: int | None = None
    lines_changed: int | None = None
    quality_improvement: float | None = None
    issues: list[str] = field(default_factory=list)
    issues_count: int = 0
    recommendations: list[str] = field(default_factory=list)
    best_practices_followed: bool = True
    documentation_updated: bool = False
    code_quality: float | None = None
    explicit_quality: float | None = None
    recorded_at: datetime | None = None
    auto_generated: bool = True
    record_id: str | None = None


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.by_field.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(
                {
                    name: [ValidationError(m, code="invalid") for m in msgs]
                    for name, msgs in self.by_field.items()
                }
            )


def _given(data: Mapping[str, Any], *names: str) -> list[tuple[str, Any]]:
    """The (name, value) pairs among ``names`` (a key and its aliases) that are given (not null).

    Every given alias is validated, so junk is never silently ignored; the first one wins.
    """
    return [(name, data[name]) for name in names if data.get(name) is not None]


def _text(errors: _Errors, name: str, value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        errors.add(name, MSG_NOT_TEXT)
        return None
    if "\x00" in value:
        errors.add(name, MSG_NUL)
        return None
    if len(value) > limit:  # counted as given, so that a schema's maxLength says the same
        errors.add(name, f"Must be at most {limit} characters (got {len(value)}).")
        return None
    return value.strip()


def _number(errors: _Errors, name: str, value: Any) -> float | None:
    # A number, not a string that looks like one: the HTTP API's OpenAPI schema says "number" and
    # a request it calls invalid must be refused (schemathesis checks both directions).
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(name, MSG_NOT_NUMBER)
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        errors.add(name, MSG_NOT_FINITE)
        return None
    if not math.isfinite(number):
        errors.add(name, MSG_NOT_FINITE)
        return None
    return number


def _count(errors: _Errors, name: str, value: Any) -> int | None:
    number = _number(errors, name, value)
    if number is None:
        return None
    if number < 0:
        errors.add(name, MSG_NEGATIVE)
        return None
    if number != int(number):
        errors.add(name, MSG_NOT_INTEGER)
        return None
    if number > MAX_COUNT:
        errors.add(name, f"Must be at most {MAX_COUNT}.")
        return None
    return int(number)


def _bool(errors: _Errors, name: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    errors.add(name, MSG_NOT_BOOL)
    return None


def _strings(
    errors: _Errors, name: str, value: Any, limit: int = MAX_ITEM_TEXT
) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        errors.add(name, MSG_NOT_LIST)
        return None
    if len(value) > MAX_LIST_ITEMS:
        errors.add(name, f"Must have at most {MAX_LIST_ITEMS} items (got {len(value)}).")
        return None
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            errors.add(name, MSG_NOT_LIST)
            return None
        if "\x00" in item:
            errors.add(name, MSG_NUL)
            return None
        if len(item) > limit:
            errors.add(name, f"Each item must be at most {limit} characters.")
            return None
        item = item.strip()
        if item:
            items.append(item)
    return items


def _names(errors: _Errors, name: str, value: Any) -> list[str] | None:
    items = _strings(errors, name, value, MAX_LABEL)
    if items is None:
        return None
    return list(dict.fromkeys(items))  # drop repeats, keep order


def parse_timestamp(value: Any, *, assume_tz=UTC) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (Z, offsets, ``+00:00Z``, naive) or epoch seconds."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            return None
        seconds = value / 1000 if abs(value) > 1e11 else value  # epoch milliseconds
        try:
            parsed = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z") and ("+" in text[10:] or text[10:].count("-") > 0):
            text = text[:-1]  # "+00:00Z": an offset and a Z, written by the old tool
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = parse_datetime(text)
        except ValueError:
            return None
        if parsed is None:
            return None
    else:
        return None
    # The year as written: a sanity bound (no record from 1970 or 9999), checked before the
    # conversion so that year 1 or 9999 with an offset cannot overflow.
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed.astimezone(UTC)


def clean_task_data(task_data: Any, model_used: Any = None) -> CleanTask:
    """Validate one task's data; raise ValidationError naming every bad field."""
    if not isinstance(task_data, Mapping):
        raise ValidationError({"task_data": ["Must be a JSON object."]})
    errors = _Errors()
    clean = CleanTask()
    data = task_data

    for name, limit, attr in (
        ("task_type", MAX_LABEL, "task_label"),
        ("description", MAX_TEXT, "description"),
    ):
        if data.get(name) is not None:
            value = _text(errors, name, data[name], limit)
            if value is not None:
                setattr(clean, attr, value)
    no_text_errors = not {"task_type", "description"} & errors.by_field.keys()
    if no_text_errors and not clean.task_label and not clean.description:
        errors.add("task_type", MSG_NO_TASK)

    complexities = []
    for name, value in _given(data, "complexity", "task_complexity"):
        text = _text(errors, name, value, MAX_COMPLEXITY)
        if text is not None and text.lower() not in Complexity.values and text:
            errors.add(name, MSG_COMPLEXITY)
        elif text is not None:
            complexities.append(text.lower())
    if complexities:
        clean.complexity = complexities[0]

    models = [] if model_used is None else [("model_used", model_used)]
    models += _given(data, "model_used", "model")
    model_names = [_text(errors, name, value, MAX_LABEL) for name, value in models]
    if model_names and model_names[0] is not None:
        clean.model = model_names[0] or None

    durations = []
    for name, value in _given(data, "duration", "duration_seconds"):
        number = _number(errors, name, value)
        if number is None:
            continue
        if number < 0:
            errors.add(name, MSG_NEGATIVE)
        elif number > MAX_DURATION:
            errors.add(name, f"Must be at most {MAX_DURATION} seconds (a year).")
        else:
            durations.append(number)
    if durations:
        clean.duration_seconds = durations[0]

    for name, attr in (
        ("success", "success"),
        ("best_practices_followed", "best_practices_followed"),
        ("documentation_updated", "documentation_updated"),
        ("auto_generated", "auto_generated"),
    ):
        if data.get(name) is not None:
            flag = _bool(errors, name, data[name])
            if flag is not None:
                setattr(clean, attr, flag)

    for names, attr in (
        (("skills_used", "skills"), "skills"),
        (("agents_delegated", "agents"), "agents"),
    ):
        lists = [_names(errors, name, value) for name, value in _given(data, *names)]
        if lists and lists[0] is not None:
            setattr(clean, attr, lists[0])

    for name in ("files_modified", "lines_changed"):
        if data.get(name) is not None:
            setattr(clean, name, _count(errors, name, data[name]))

    if data.get("quality_improvement") is not None:
        number = _number(errors, "quality_improvement", data["quality_improvement"])
        if number is not None:
            if abs(number) > 100:
                errors.add("quality_improvement", "Must be between -100 and 100 points.")
            else:
                clean.quality_improvement = number

    if data.get("issues_found") is not None:
        value = data["issues_found"]
        if isinstance(value, int | float) and not isinstance(value, bool):
            count = _count(errors, "issues_found", value)  # the old tool sometimes wrote a count
            if count is not None:
                clean.issues_count = count
        else:
            items = _strings(errors, "issues_found", value)
            if items is not None:
                clean.issues = items
                clean.issues_count = len(items)

    if data.get("recommendations") is not None:
        items = _strings(errors, "recommendations", data["recommendations"])
        if items is not None:
            clean.recommendations = items

    if data.get("code_quality") is not None:
        number = _number(errors, "code_quality", data["code_quality"])
        if number is not None:
            clean.code_quality = number

    for name in ("quality_score", "overall_score"):
        if data.get(name) is not None:
            number = _number(errors, name, data[name])
            if number is not None and clean.explicit_quality is None:
                clean.explicit_quality = number
    # Derived by the contract, never taken as given, but junk in them is still an error.
    for name in ("performance_index", "time_efficiency"):
        if data.get(name) is not None:
            _number(errors, name, data[name])

    if data.get("recorded_at") is not None:
        value = data["recorded_at"]
        parsed = (
            parse_timestamp(value)
            if isinstance(value, str) and TIMESTAMP_RE.fullmatch(value)
            else None
        )
        if parsed is None:
            errors.add("recorded_at", MSG_TIMESTAMP + f" Years {MIN_YEAR}-{MAX_YEAR}.")
        else:
            clean.recorded_at = parsed

    if data.get("record_id") is not None:
        raw_id = data["record_id"]
        text = _text(errors, "record_id", raw_id, MAX_RECORD_ID)
        if text is not None:
            if not raw_id:
                errors.add("record_id", MSG_RECORD_ID_EMPTY)
            elif any(ch.isspace() or ch in RECORD_ID_FORBIDDEN for ch in raw_id):
                errors.add("record_id", MSG_RECORD_ID_CHARS)
            else:
                clean.record_id = raw_id

    errors.raise_if_any()
    return clean
