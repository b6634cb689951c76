"""One legacy payload -> one ``LegacyTask``: the old file shapes mapped onto the one task schema.

Every shape the old tool wrote comes through here: the recorder's records (fields at the top and
under ``details``), the flat ``quality_score``/``duration``/``success`` records, quality
assessments, debugging assessments (model from the ``detailed_metrics`` key, passed in as
``model_hint``), assessments.json entries and the oldest tracker's ``task_id``/0-1 score records.

This module only does what is particular to those shapes: it finds the record's identity and
timestamp, looks each field up at the top of the payload and then under ``details``, and maps the
old names (``task_description``, ``agents_used``, ``issues``, ``auto_recorded``, durations in
minutes) onto the task schema's keys. Everything else — types, limits, precedence, the fraction
rule for scores, clamping — is ``records.recording.schema.clean_task`` in lenient mode, the same
function every other door calls.

A value that cannot be read raises ``RecordError`` naming every bad field (as found in the file,
e.g. ``details.duration_seconds``): the record fails, its neighbours do not. A readable value out
of range is clamped or dropped with a warning; the original stays in the stored payload.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from records.recording.schema import (
    ALIASES,
    CONTEXT_FIELDS,
    MAX_JSON_DEPTH,
    MAX_RECORD_ID,
    Task,
    TaskInvalid,
    clean_task,
    describe,
    json_too_deep,
    parse_timestamp,
    text_problem,
)

ID_KEYS = ("assessment_id", "task_id")
TIMESTAMP_KEYS = ("timestamp", "recorded_at", "created_at", "completed_at")
MINUTE_KEYS = ("time_elapsed_minutes", "execution_time_minutes", "duration_minutes")
# Schema key -> the keys the old files used for it, in the order they win. Alias groups come
# from the schema, so the importer and the API agree on which name wins.
LOOKUPS: dict[str, tuple[str, ...]] = {
    "task_type": ("task_type",),
    "description": ("description", "task_description"),
    "complexity": ALIASES["complexity"],
    "duration": ALIASES["duration"],
    "success": ("success",),
    "best_practices_followed": ("best_practices_followed",),
    "documentation_updated": ("documentation_updated",),
    "skills_used": ALIASES["skills"],
    "agents_delegated": (*ALIASES["agents"][:1], "agents_used", *ALIASES["agents"][1:]),
    "files_modified": ("files_modified",),
    "lines_changed": ("lines_changed",),
    "issues_found": ("issues_found", "issues"),
    "recommendations": ("recommendations",),
    "code_quality": ("code_quality",),
    "quality_score": ALIASES["quality"],
    "quality_improvement": ("quality_improvement",),
    # Scores the old tool computed itself: kept as given (debugging assessments call the
    # time efficiency ``time_efficiency_score``).
    "time_efficiency": ("time_efficiency", "time_efficiency_score"),
    "performance_index": ("performance_index",),
    "breakdown": ALIASES["breakdown"],
    "model_used": ALIASES["model"],
    **{key: (key,) for key in CONTEXT_FIELDS},
}
_UNSAFE_ID = re.compile(r"[\s/?#%\\]")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class RecordError(Exception):
    """A record that cannot be imported; ``reasons`` names every bad field."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(kw_only=True)
class LegacyTask(Task):
    """What one payload says, as a task, with where it came from."""

    identity: str
    source: str
    payload: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


_MISSING = object()


class _Payload:
    """Looks keys up at the top of a payload, then under ``details``; remembers where."""

    def __init__(self, payload: Mapping[str, Any]):
        self.top = payload
        details = payload.get("details")
        self.details = details if isinstance(details, Mapping) else {}

    def find(self, *keys: str, details: bool = True) -> tuple[str, str, Any]:
        """(key, label as found in the file, value) of the first given key, top level first."""
        for key in keys:
            if self.top.get(key) is not None:
                return key, key, self.top[key]
        if details:
            for key in keys:
                if self.details.get(key) is not None:
                    return key, f"details.{key}", self.details[key]
        return keys[0], keys[0], _MISSING


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


def _identity(payload: Mapping[str, Any], errors: list[str]) -> tuple[str | None, str]:
    for key in ID_KEYS:
        value = payload.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            errors.append(f"{key}: must be a string, got {describe(value)}")
            return None, key
        text = str(value).strip()
        if text:
            return text, key
    return None, "timestamp"


def task_mapping(
    found: _Payload, *, model_hint: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The payload's fields under the schema's keys, and each key's label as found in the file."""
    data: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for target, keys in LOOKUPS.items():
        key, label, value = found.find(*keys)
        if value is _MISSING:
            continue
        key = key if key in keys[:1] or key in _schema_aliases(target) else target
        data[key], labels[key] = value, label
    if "duration" not in data and "duration_seconds" not in data:
        key, label, value = found.find(*MINUTE_KEYS)
        if value is not _MISSING:
            minutes = _minutes(value)
            data["duration"], labels["duration"] = (value if minutes is None else minutes), label
    key, label, value = found.find("auto_generated", details=False)
    if value is _MISSING:
        key, label, value = found.find("auto_generated", "auto_recorded")
    if value is not _MISSING:
        data["auto_generated"], labels["auto_generated"] = value, label
    if model_hint is not None:
        data.pop("model", None)
        data["model_used"], labels["model_used"] = model_hint, "model"
    return data, labels


def _schema_aliases(target: str) -> tuple[str, ...]:
    return next((group for group in ALIASES.values() if target in group), (target,))


def _minutes(value: Any) -> float | None:
    """Seconds from a number of minutes (a number, or text that is one); None if unreadable."""
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value * 60.0


def normalise_payload(
    payload: Any,
    *,
    source: str,
    assume_tz: tzinfo,
    model_hint: str | None = None,
) -> LegacyTask:
    """Normalise one legacy record; raise ``RecordError`` when it cannot be imported."""
    if not isinstance(payload, Mapping):
        raise RecordError([f"a record must be a JSON object, got {describe(payload)}"])
    if json_too_deep(payload):
        raise RecordError([f"nests lists and objects more than {MAX_JSON_DEPTH} levels deep"])
    if text_problem(payload):
        raise RecordError(["contains NUL characters or invalid Unicode, which cannot be stored"])
    errors: list[str] = []
    identity, identity_key = _identity(payload, errors)
    found = _Payload(payload)

    recorded_at = None
    _key, ts_label, ts_value = found.find(*TIMESTAMP_KEYS)
    if ts_value is not _MISSING:
        recorded_at = read_timestamp(ts_value, assume_tz=assume_tz)
        if recorded_at is None:
            errors.append(f"{ts_label}: unreadable timestamp {describe(ts_value)}")

    raw_type = payload.get("task_type")
    raw_type = raw_type if isinstance(raw_type, str) else None
    if identity is None and not errors:
        if recorded_at is None:
            errors.append("timestamp: a record needs an assessment_id, a task_id or a timestamp")
        else:
            identity = f"timestamp {recorded_at.isoformat()}, task_type {raw_type or '(none)'}"

    data, labels = task_mapping(found, model_hint=model_hint)
    warnings: list[str] = []
    try:
        task = clean_task(data, lenient=True, warnings=warnings)
    except TaskInvalid as exc:
        errors += [problem.reason(labels.get(problem.key)) for problem in exc.problems]
        task = None
    if errors:
        raise RecordError(errors)
    assert task is not None and identity is not None
    task.recorded_at = recorded_at
    if identity_key in ID_KEYS:
        record_id = safe_record_id(identity)
        identity = f"{identity_key} {identity}"
    else:
        assert recorded_at is not None
        record_id = timestamp_record_id(recorded_at, raw_type or "")
    return LegacyTask(
        **asdict(task) | {"record_id": record_id},
        identity=identity,
        source=source,
        payload=dict(payload),
        warnings=[_labelled(warning, labels) for warning in warnings],
    )


def _labelled(warning: str, labels: Mapping[str, str]) -> str:
    key, _, message = warning.partition(": ")
    return f"{labels.get(key, key)}: {message}"
