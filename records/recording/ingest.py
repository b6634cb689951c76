"""Recording tasks that arrive as JSON text: the HTTP API and the ``record_task`` command.

Both validate with ``records.recording.schema.clean_task_data`` and write with
``records.recording.services.record_create``, exactly like the Python API; this module only
adds what JSON input needs: strict parsing, batches that are all-or-nothing, and idempotency keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from records.models import Agent, AIModel, ApiToken, Skill, TaskRecord
from records.recording.otlp.claude_code import TELEMETRY_SOURCE
from records.recording.schema import Task, clean_task_data, json_safe_payload
from records.recording.services import names_to_objects, record_create, with_lock_retry
from records.rules.names import default_model_name

MAX_BODY_BYTES = 1024 * 1024  # HTTP: 1 MiB. A task is a few kilobytes; near this is a mistake.
SOURCE_API = "api"
SOURCE_CLI = "cli"
MSG_NOT_UTF8 = "Must be UTF-8 encoded JSON."
MSG_TOO_DEEP = "Malformed JSON: nested too deeply."
MSG_NOT_A_TASK = "Must be a JSON object: one task."
MSG_NOT_TASKS = "Must be a JSON object (one task) or a list of objects."
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
    errors: dict[str, list[str]] = {}
    try:
        task = clean_task_data(task_data, model_used)
    except ValidationError as exc:
        errors = message_dict(exc)
    given = task_data.get("record_id") if isinstance(task_data, dict) else None
    if token is not None and isinstance(given, str) and given.startswith(IDEMPOTENCY_PREFIX):
        errors.setdefault("record_id", []).append(MSG_RECORD_ID_RESERVED)
    if errors:
        raise ValidationError(errors)
    if task.record_id is None and record_id is not None:
        task.record_id = record_id
    record, created = record_create(task=task, source=source, payload=task_data, token=token)
    if not created and record.source == TELEMETRY_SOURCE and isinstance(task_data, dict):
        # A Claude Code turn that OpenTelemetry stored first: the plugin hook's task is merged
        # into it (its files, lines, skills, sub-agents stay; the telemetry's cost wins).
        from records.recording.otlp.writes import merge_hook_task

        record = merge_hook_task(record=record, task_data=task_data)
    return record, created


def tasks_record(
    *, tasks: Sequence[Any], source: str, model_used: str | None = None
) -> list[TaskRecord]:
    """Store a list of tasks all-or-nothing: validate every one, then write all in one transaction.

    Raises BatchValidationError naming each bad index (and its fields); nothing is written then.
    """
    cleaned: list[Task] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, task_data in enumerate(tasks):
        try:
            cleaned.append(task_validate(task_data, model_used))
        except ValidationError as exc:
            errors[index] = message_dict(exc)
    if errors:
        raise BatchValidationError(errors)
    # Names first, outside the transaction and in one sorted batch each: concurrent batches then
    # never take the same name rows in different orders (no PostgreSQL deadlock).
    names_to_objects(
        AIModel,
        {t.model or default_model_name() for t in cleaned},
    )
    names_to_objects(Skill, {name for t in cleaned for name in t.skills or []})
    names_to_objects(Agent, {name for t in cleaned for name in t.agents or []})

    def write() -> list[TaskRecord]:
        with transaction.atomic():
            return [
                record_create(task=task, source=source, payload=task_data)[0]
                for task, task_data in zip(cleaned, tasks, strict=True)
            ]

    return with_lock_retry(write)


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
