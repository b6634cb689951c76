"""Recording tasks that arrive as JSON text: the HTTP API and the ``record_task`` command.

Both validate with ``records.recording.schema.clean_task_data`` and write with
``records.recording.services`` (``record_create`` for one task, ``records_create_many`` for a
list), exactly like the Python API; this module only adds what JSON input needs: strict parsing,
lists of tasks (per item for the HTTP API, all-or-nothing for ``record_task``), and idempotency
keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from records.models import ApiToken, TaskRecord
from records.recording.bulk import collector_paused
from records.recording.otlp.claude_code import TELEMETRY_SOURCE
from records.recording.schema import Task, clean_task_data, json_safe_payload
from records.recording.services import Outcome, record_create, records_create_many

MAX_BODY_BYTES = 1024 * 1024  # HTTP: 1 MiB. A task is a few kilobytes; near this is a mistake.
MAX_BATCH = 1_000  # tasks in one list (HTTP and record_task alike)
# A list's body may be larger than one task's (and stays within perfsite.asgi's 8 MiB limit).
MAX_BATCH_BODY_BYTES = 8 * MAX_BODY_BYTES
SOURCE_API = "api"
SOURCE_CLI = "cli"
MSG_NOT_UTF8 = "Must be UTF-8 encoded JSON."
MSG_TOO_DEEP = "Malformed JSON: nested too deeply."
MSG_NOT_A_TASK = "Must be a JSON object: one task."
MSG_NOT_TASKS = "Must be a JSON object (one task) or a list of objects."
MSG_BATCH_EMPTY = f"The list is empty: send 1 to {MAX_BATCH:,} tasks."
MSG_BATCH_TOO_MANY = (
    f"A list may hold at most {MAX_BATCH:,} tasks; this one holds {{count:,}}. "
    "Send it as several lists."
)
IDEMPOTENCY_PREFIX = "idem-"
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY_PATTERN = f"^[!-~]{{1,{MAX_IDEMPOTENCY_KEY}}}$"  # visible ASCII, no spaces
IDEMPOTENCY_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)
MSG_RECORD_ID_RESERVED = (
    f"Must not start with '{IDEMPOTENCY_PREFIX}': those ids are made from Idempotency-Key headers."
)
MSG_IDEMPOTENCY_KEY = (
    f"Must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters without spaces, e.g. a UUID, "
    "and the same on every retry of one task."
)


class JsonInputError(ValueError):
    """Input that is not JSON we accept; ``str(exc)`` is a one-line reason."""


class BatchValidationError(Exception):
    """Some tasks of a list are invalid; ``errors`` maps each bad index to {field: [messages]}."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        self.errors = errors
        super().__init__(format_batch_errors(errors))


def _refuse_constant(name: str) -> float:
    raise JsonInputError(f"Malformed JSON: {name} is not a number JSON allows.")


def parse_json(data: bytes | str) -> Any:
    """Parse JSON text strictly: UTF-8 only, no NaN or Infinity; JsonInputError says why not."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(MSG_NOT_UTF8) from exc
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise JsonInputError(MSG_TOO_DEEP) from exc
    except JsonInputError:
        raise
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise JsonInputError(f"Malformed JSON: {exc}.") from exc


def idempotency_record_id(*, key: str, scope: str) -> str:
    """The record_id a retried request with this Idempotency-Key maps to: same key, same id.

    ``scope`` (the API token's id) keeps one client's keys from ever meeting another's.
    """
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()
    return f"{IDEMPOTENCY_PREFIX}{digest[:32]}"


def task_validate(task_data: Any, model_used: str | None = None) -> Task:
    """Everything that decides whether a task is accepted, without writing: clean_task_data, and
    the payload check record_create makes (no NUL, valid Unicode) before it writes."""
    task = clean_task_data(task_data, model_used)
    json_safe_payload(task_data)
    return task


def _task_checked(task_data: Any, model_used: str | None, token: ApiToken | None) -> Task:
    """The task, or ValidationError naming every bad field: the schema, and for the HTTP API
    (``token``) the rule that body record ids must not look like Idempotency-Key ids."""
    errors: dict[str, list[str]] = {}
    task = None
    try:
        task = clean_task_data(task_data, model_used)
    except ValidationError as exc:
        errors = message_dict(exc)
    given = task_data.get("record_id") if isinstance(task_data, dict) else None
    if token is not None and isinstance(given, str) and given.startswith(IDEMPOTENCY_PREFIX):
        errors.setdefault("record_id", []).append(MSG_RECORD_ID_RESERVED)
    if errors:
        raise ValidationError(errors)
    return task


def task_record(
    *,
    task_data: Any,
    source: str,
    model_used: str | None = None,
    record_id: str | None = None,
    token: ApiToken | None = None,
) -> tuple[TaskRecord, bool]:
    """Validate and store one task; returns (record, created).

    ``record_id`` (from an idempotency key) is used when the task names none. A record_id that is
    already stored returns that record with created=False: a retry never makes a duplicate.
    Raises ValidationError (``error_dict`` keyed by field) and writes nothing for invalid data.

    ``token`` (the HTTP API) scopes record ids to the token: ids with the Idempotency-Key prefix
    cannot be named in the body (another token could pre-claim them), and an id stored by
    another token or door raises ``services.RecordIdTaken``.
    """
    task = _task_checked(task_data, model_used, token)
    if task.record_id is None and record_id is not None:
        task.record_id = record_id
    record, created = record_create(task=task, source=source, payload=task_data, token=token)
    if not created and record.source == TELEMETRY_SOURCE and isinstance(task_data, dict):
        # A Claude Code turn that OpenTelemetry stored first: the plugin hook's task is merged
        # into it (its files, lines, skills, sub-agents stay; the telemetry's cost wins).
        from records.recording.otlp.writes import merge_hook_task

        record = merge_hook_task(record=record, task_data=task_data)
    return record, created


def batch_problem(tasks: Sequence[Any]) -> str | None:
    """Why a list cannot be taken as a batch at all (empty, too long), or None."""
    if not tasks:
        return MSG_BATCH_EMPTY
    if len(tasks) > MAX_BATCH:
        return MSG_BATCH_TOO_MANY.format(count=len(tasks))
    return None


def batch_item_key(key: str, index: int) -> str:
    """The Idempotency-Key of item ``index`` of a list sent with the header ``key``. NUL cannot
    be in a header's key, so no single-task key ever maps to the same record id."""
    return f"{key}\x00{index}"


@dataclass(frozen=True)
class ItemResult:
    """One task of a list: stored (``outcome``, ``record_id``) or refused (``errors``)."""

    index: int
    record_id: str | None = None
    outcome: Outcome | None = None
    errors: dict[str, list[str]] | None = None


def tasks_record_each(
    *,
    tasks: Sequence[Any],
    source: str,
    token: ApiToken | None = None,
    key: str | None = None,
    model_used: str | None = None,
) -> list[ItemResult]:
    """Store a list of tasks (parsed JSON) per item: every valid one, in one transaction; the
    invalid ones are reported with their index and fields, and stored nowhere.

    Each item is idempotent on its own: its ``record_id``, else (with ``key``, the request's
    Idempotency-Key) an id made from the key and the item's index, so retrying the same list
    with the same key stores nothing twice. ``token`` scopes record ids as for one task.
    """
    problem = batch_problem(tasks)
    if problem:
        raise ValueError(problem)
    with collector_paused():
        return _record_each(tasks, source=source, token=token, key=key, model_used=model_used)


def _record_each(
    tasks: Sequence[Any],
    *,
    source: str,
    token: ApiToken | None,
    key: str | None,
    model_used: str | None,
) -> list[ItemResult]:
    results: list[ItemResult | None] = [None] * len(tasks)
    valid: list[tuple[int, Task, Any]] = []
    for index, task_data in enumerate(tasks):
        try:
            task = _task_checked(task_data, model_used, token)
            payload = json_safe_payload(task_data, parsed=True)
        except ValidationError as exc:
            results[index] = ItemResult(index=index, errors=message_dict(exc))
            continue
        if task.record_id is None and key is not None:
            scope = str(token.pk) if token is not None else ""
            task.record_id = idempotency_record_id(key=batch_item_key(key, index), scope=scope)
        valid.append((index, task, payload))
    if valid:
        stored = records_create_many(
            items=[(task, data) for _, task, data in valid], source=source, token=token
        )
        for (index, _, _), created in zip(valid, stored, strict=True):
            results[index] = ItemResult(
                index=index, record_id=created.record_id, outcome=created.outcome
            )
        _merge_into_telemetry(
            [
                (created.record_id, tasks[index])
                for (index, _, _), created in zip(valid, stored, strict=True)
                if created.outcome is Outcome.STORED and isinstance(tasks[index], dict)
            ]
        )
    return results  # type: ignore[return-value]


def _merge_into_telemetry(items: Sequence[tuple[str, dict]]) -> None:
    """Hook tasks of a list whose turn OpenTelemetry stored first (with the same token): merged
    into that record, as ``task_record`` does for one task. One query to find them."""
    if not items:
        return
    from records.recording.otlp.writes import merge_hook_task

    ids = {record_id for record_id, _ in items}
    found = {
        record.record_id: record
        for record in TaskRecord.objects.filter(record_id__in=ids, source=TELEMETRY_SOURCE)
    }
    for record_id, task_data in items:
        if record_id in found:
            found[record_id] = merge_hook_task(record=found[record_id], task_data=task_data)


def tasks_record(*, tasks: Sequence[Any], source: str, model_used: str | None = None) -> list[str]:
    """Store a list of tasks (parsed JSON) all-or-nothing: validate every one, then write all in
    one transaction (``records_create_many``); their record ids, in order.

    Raises BatchValidationError naming each bad index (and its fields); nothing is written then.
    """
    with collector_paused():
        return _record_all(tasks=tasks, source=source, model_used=model_used)


def _record_all(*, tasks: Sequence[Any], source: str, model_used: str | None) -> list[str]:
    items: list[tuple[Task, Any]] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, task_data in enumerate(tasks):
        try:
            task = clean_task_data(task_data, model_used)
            items.append((task, json_safe_payload(task_data, parsed=True)))
        except ValidationError as exc:
            errors[index] = message_dict(exc)
    if errors:
        raise BatchValidationError(errors)
    stored = records_create_many(items=items, source=source, token=None)
    return [created.record_id for created in stored]


def message_dict(exc: ValidationError) -> dict[str, list[str]]:
    """{field: [messages]} for any ValidationError (one without fields is about the task_data)."""
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"task_data": exc.messages}


def format_errors(errors: dict[str, list[str]]) -> str:
    """One line: ``field: message message; other: message``."""
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


def format_batch_errors(errors: dict[int, dict[str, list[str]]]) -> str:
    return "; ".join(f"[{index}] {format_errors(fields)}" for index, fields in errors.items())
