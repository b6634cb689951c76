"""One legacy payload -> one ``LegacyTask``: pure functions, no database, no files.

Every shape the old tool wrote comes through here: the recorder's records (fields at the top and
under ``details``), the flat ``quality_score``/``duration``/``success`` records, quality
assessments, debugging assessments (model from the ``detailed_metrics`` key, passed in as
``model_hint``), assessments.json entries and the oldest tracker's ``task_id``/0-1 score records.

A value that cannot be read (a timestamp that is not a time, a score that is not a number, a list
that is a dict) raises ``RecordError`` naming every bad field: the record fails, its neighbours do
not. A value that is readable but out of range is clamped (scores) or dropped (counts, durations)
and reported as a warning; the original stays in the stored payload either way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from records.recording.schema import MAX_COUNT, MAX_DURATION, MAX_RECORD_ID, parse_timestamp
from records.recording.services import MAX_JSON_DEPTH, json_too_deep
from records.rules.names import normalise_model_name as _normalise_model_name

MAX_LABEL = 200
MAX_NAME = 200
MAX_DESCRIPTION = 20_000
MAX_ITEM_TEXT = 2_000
MAX_IMPROVEMENT = 100.0

ID_KEYS = ("assessment_id", "task_id")
TIMESTAMP_KEYS = ("timestamp", "recorded_at", "created_at", "completed_at")
COMPLEXITY_WORDS = {
    "simple": "simple",
    "low": "simple",
    "easy": "simple",
    "trivial": "simple",
    "medium": "medium",
    "moderate": "medium",
    "normal": "medium",
    "complex": "complex",
    "high": "complex",
    "hard": "complex",
    "very high": "complex",
}
FLAG_WORDS = {
    "true": True,
    "yes": True,
    "passed": True,
    "success": True,
    "completed": True,
    "false": False,
    "no": False,
    "failed": False,
    "failure": False,
}
# Inputs of the scoring contract (and auto_generated) that a record may or may not have given;
# kept in score_breakdown["given"] so that a later source can fill what an earlier one lacked.
GIVEN_FLAGS = (
    "success",
    "best_practices_followed",
    "documentation_updated",
    "code_quality",
    "quality_improvement",
    "auto_generated",
)
_UNSAFE_ID = re.compile(r"[\s/?#%\\]")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# A legacy folder names a handful of models a hundred thousand times.
normalise_model_name = functools.lru_cache(maxsize=1024)(_normalise_model_name)


class RecordError(Exception):
    """A record that cannot be imported; ``reasons`` names every bad field."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass
class TaskFields:
    """What is known of one task's fields; ``None`` means "not said". Shared by what one source
    says (LegacyTask) and what all sources of one identity say together (merge.Draft)."""

    recorded_at: datetime | None = None
    task_label: str | None = None
    description: str | None = None
    complexity: str | None = None
    model: str | None = None
    duration_seconds: float | None = None
    success: bool | None = None
    skills: list[str] | None = None
    agents: list[str] | None = None
    files_modified: int | None = None
    lines_changed: int | None = None
    issues: list[str] | None = None
    issues_count: int | None = None
    recommendations: list[str] | None = None
    code_quality: float | None = None
    explicit_quality: float | None = None
    best_practices_followed: bool | None = None
    documentation_updated: bool | None = None
    quality_improvement: float | None = None
    auto_generated: bool | None = None


@dataclass(kw_only=True)
class LegacyTask(TaskFields):
    """What one payload says, normalised."""

    record_id: str
    identity: str
    source: str
    payload: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


_MISSING = object()


class _Reader:
    """Looks fields up at the top of a payload, then under ``details``, and collects errors."""

    def __init__(self, payload: Mapping[str, Any]):
        self.payload = payload
        details = payload.get("details")
        self.details = details if isinstance(details, Mapping) else {}
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def find(self, *keys: str, details: bool = True) -> tuple[str, Any]:
        for key in keys:
            value = self.payload.get(key)
            if value is not None:
                return key, value
        if details:
            for key in keys:
                value = self.details.get(key)
                if value is not None:
                    return f"details.{key}", value
        return keys[0], _MISSING

    def error(self, name: str, message: str) -> None:
        self.errors.append(f"{name}: {message}")

    def warn(self, name: str, message: str) -> None:
        self.warnings.append(f"{name}: {message}")

    # --- typed readers: each returns None (and records why) when the value is unusable ----------

    def number(self, name: str, value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.error(name, f"must be a number, got {_describe(value)}")
            return None
        if isinstance(value, str):
            text = value.strip()
            if not _NUMERIC.match(text):
                self.error(name, f"must be a number, got {_describe(value)}")
                return None
            number = float(text)
        else:
            number = value
        if not math.isfinite(number):
            self.error(name, "must be a finite number")
            return None
        return number

    def score(self, name: str, value: Any) -> float | None:
        """Points 0-100. A float in [0, 1] is a fraction; ints are points; outside is clamped."""
        number = self.number(name, value)
        if number is None:
            return None
        is_fraction = isinstance(number, float) and 0.0 <= number <= 1.0
        if isinstance(value, str):  # "0.85" is a fraction, "85" points, as for numbers
            is_fraction = "." in value and 0.0 <= number <= 1.0
        points = number * 100.0 if is_fraction else float(number)
        if points < 0.0 or points > 100.0:
            clamped = min(100.0, max(0.0, points))
            self.warn(name, f"{_describe(value)} is outside 0-100; clamped to {clamped:g}")
            points = clamped
        return points

    def count(self, name: str, value: Any) -> int | None:
        if isinstance(value, list | tuple):  # e.g. details.files_modified: ["README.md"]
            return len(value)
        number = self.number(name, value)
        if number is None:
            return None
        if number != int(number):
            self.error(name, f"must be a whole number, got {_describe(value)}")
            return None
        if number < 0 or number > MAX_COUNT:
            self.warn(name, f"{_describe(value)} is out of range; ignored")
            return None
        return int(number)

    def flag(self, name: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in FLAG_WORDS:
            return FLAG_WORDS[value.strip().lower()]
        self.error(name, f"must be true or false, got {_describe(value)}")
        return None

    def text(self, name: str, value: Any, limit: int) -> str | None:
        if not isinstance(value, str):
            self.error(name, f"must be a string, got {_describe(value)}")
            return None
        text = value.strip()
        if len(text) > limit:
            self.warn(name, f"{len(text)} characters; the first {limit} are kept")
            text = text[:limit]
        return text

    def names(self, name: str, value: Any) -> list[str] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            self.error(name, f"must be a list of names, got {_describe(value)}")
            return None
        names: list[str] = []
        for item in value:
            if not isinstance(item, str):
                self.error(name, f"must be a list of names, got an item {_describe(item)}")
                return None
            item = " ".join(item.split())
            if len(item) > MAX_NAME:
                self.warn(name, f"a name of {len(item)} characters; the first {MAX_NAME} are kept")
                item = item[:MAX_NAME]
            if item:
                names.append(item)
        return list(dict.fromkeys(names))

    def texts(self, name: str, value: Any) -> list[str] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            self.error(name, f"must be a list, got {_describe(value)}")
            return None
        items: list[str] = []
        for item in value:
            text = _item_text(item)
            if len(text) > MAX_ITEM_TEXT:
                text = text[:MAX_ITEM_TEXT]
            if text:
                items.append(text)
        return items


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return f"a {'list' if isinstance(value, list | tuple) else 'JSON object'}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and bool(_NUMERIC.match(value.strip()))
    )


def _item_text(item: Any) -> str:
    """An issue or recommendation as text; structured ones keep their message."""
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, Mapping):
        for key in ("message", "description", "issue", "title", "text", "recommendation"):
            if isinstance(item.get(key), str):
                return item[key].strip()
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def read_timestamp(value: Any, *, assume_tz: tzinfo) -> datetime | None:
    """A legacy timestamp as an aware UTC datetime, or None when it is not a time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.match(text):
            return parse_timestamp(float(text), assume_tz=assume_tz)
        if _DATE_ONLY.match(text):
            text += "T00:00:00"
        elif text[-4:].upper() in (" UTC", " GMT"):
            text = text[:-4] + "+00:00"
        value = text
    return parse_timestamp(value, assume_tz=assume_tz)


def safe_record_id(identity: str) -> str:
    """The identity itself when it can be a URL segment, else a readable, deterministic stand-in."""
    if identity and len(identity) <= MAX_RECORD_ID and not _UNSAFE_ID.search(identity):
        return identity
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]
    readable = _UNSAFE_ID.sub("-", identity)[:120].strip("-")
    return f"{readable}-{digest}" if readable else f"legacy-{digest}"


def timestamp_record_id(at: datetime, raw_type: str) -> str:
    """Deterministic id for a record known only by (UTC instant, raw task type)."""
    key = f"{at.isoformat()}|{raw_type}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", raw_type.lower()).strip("-")[:40] or "task"
    return f"legacy-{slug}-{at:%Y%m%d-%H%M%S}-{digest}"


def _identity(reader: _Reader) -> tuple[str | None, str]:
    for key in ID_KEYS:
        value = reader.payload.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            reader.error(key, f"must be a string, got {_describe(value)}")
            return None, key
        text = str(value).strip()
        if text:
            return text, key
    return None, "timestamp"


def normalise_payload(
    payload: Any,
    *,
    source: str,
    assume_tz: tzinfo,
    model_hint: str | None = None,
) -> LegacyTask:
    """Normalise one legacy record; raise ``RecordError`` when it cannot be imported."""
    if not isinstance(payload, Mapping):
        raise RecordError([f"a record must be a JSON object, got {_describe(payload)}"])
    if json_too_deep(payload):
        raise RecordError([f"nests lists and objects more than {MAX_JSON_DEPTH} levels deep"])
    if "\\u0000" in json.dumps(payload):
        raise RecordError(["contains NUL characters, which the database cannot store"])
    r = _Reader(payload)

    identity, identity_key = _identity(r)

    recorded_at = None
    ts_name, ts_value = r.find(*TIMESTAMP_KEYS)
    if ts_value is not _MISSING:
        recorded_at = read_timestamp(ts_value, assume_tz=assume_tz)
        if recorded_at is None:
            r.error(ts_name, f"unreadable timestamp {_describe(ts_value)}")

    raw_type = payload.get("task_type")
    if raw_type is not None and not isinstance(raw_type, str):
        r.error("task_type", f"must be a string, got {_describe(raw_type)}")
        raw_type = None

    if identity is None and not r.errors:
        if recorded_at is None:
            r.error("timestamp", "a record needs an assessment_id, a task_id or a timestamp")
        else:
            identity = f"timestamp {recorded_at.isoformat()}, task_type {raw_type or '(none)'}"

    task = LegacyTask(record_id="", identity="", source=source, payload=dict(payload))
    task.recorded_at = recorded_at

    name, value = r.find("task_type")
    if value is not _MISSING and isinstance(value, str):
        task.task_label = r.text(name, value, MAX_LABEL) or None

    name, value = r.find("description", "task_description")
    if value is not _MISSING:
        task.description = r.text(name, value, MAX_DESCRIPTION) or None

    name, value = r.find("complexity", "task_complexity")
    if value is not _MISSING:
        text = r.text(name, value, 40)
        if text:
            task.complexity = COMPLEXITY_WORDS.get(text.lower())
            if task.complexity is None:
                r.warn(name, f"{_describe(value)} is not simple, medium or complex; left empty")

    if model_hint is not None:
        task.model = normalise_model_name(model_hint)
    else:
        name, value = r.find("model_used", "model")
        if value is not _MISSING:
            text = r.text(name, value, MAX_NAME)
            task.model = normalise_model_name(text) if text else None

    name, value = r.find("duration_seconds", "duration")
    minutes = 1.0
    if value is _MISSING:
        name, value = r.find("time_elapsed_minutes", "execution_time_minutes", "duration_minutes")
        minutes = 60.0
    if value is not _MISSING:
        number = r.number(name, value)
        if number is not None:
            seconds = number * minutes
            if 0 <= seconds <= MAX_DURATION:
                task.duration_seconds = seconds
            else:
                r.warn(name, f"{_describe(value)} is not a plausible duration; ignored")

    for attr, keys in (
        ("success", ("success",)),
        ("best_practices_followed", ("best_practices_followed",)),
        ("documentation_updated", ("documentation_updated",)),
    ):
        name, value = r.find(*keys)
        if value is not _MISSING:
            setattr(task, attr, r.flag(name, value))

    name, value = r.find("auto_generated", details=False)
    if value is _MISSING:
        name, value = r.find("auto_generated", "auto_recorded")
    if value is not _MISSING:
        task.auto_generated = r.flag(name, value)

    for attr, keys in (
        ("skills", ("skills_used", "skills")),
        ("agents", ("agents_delegated", "agents_used", "agents")),
    ):
        name, value = r.find(*keys)
        if value is not _MISSING:
            setattr(task, attr, r.names(name, value))

    for attr in ("files_modified", "lines_changed"):
        name, value = r.find(attr)
        if value is not _MISSING:
            setattr(task, attr, r.count(name, value))

    name, value = r.find("issues_found", "issues")
    if value is not _MISSING:
        if _is_number(value):  # the old tool sometimes wrote a count instead of the list
            task.issues_count = r.count(name, value)
        else:
            task.issues = r.texts(name, value)
            if task.issues is not None:
                task.issues_count = len(task.issues)

    name, value = r.find("recommendations")
    if value is not _MISSING:
        task.recommendations = r.texts(name, value)

    name, value = r.find("code_quality")
    if value is not _MISSING:
        task.code_quality = r.score(name, value)

    name, value = r.find("overall_score", "quality_score")
    if value is not _MISSING:
        task.explicit_quality = r.score(name, value)

    name, value = r.find("quality_improvement")
    if value is not _MISSING:
        number = r.number(name, value)
        if number is not None:
            if abs(number) > MAX_IMPROVEMENT:
                clamped = math.copysign(MAX_IMPROVEMENT, number)
                r.warn(name, f"{_describe(value)} is outside -100..100; clamped to {clamped:g}")
                number = clamped
            task.quality_improvement = number

    if r.errors:
        raise RecordError(r.errors)
    assert identity is not None
    task.identity = f"{identity_key} {identity}" if identity_key in ID_KEYS else identity
    if identity_key in ID_KEYS:
        task.record_id = safe_record_id(identity)
    else:
        assert recorded_at is not None
        task.record_id = timestamp_record_id(recorded_at, raw_type or "")
    task.warnings = r.warnings
    return task
