"""Telemetry stored as tasks: every write goes through ``record_create`` / ``record_update``.

Each turn (Claude Code) or root agent span (GenAI) is validated by the one task schema
(``clean_task``) and written in its own transaction, so one bad task is rejected (counted in the
answer's partial success) and the others are stored; a later batch of the same task updates the
record, its rollups moved exactly by ``record_update``. What belongs to no task is counted in an
``ImportRun`` row (admin → Import runs), never dropped silently.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from records.models import ApiToken, ImportRun, PendingSpan, TaskRecord
from records.recording.ingest import IDEMPOTENCY_PREFIX, format_errors, message_dict
from records.recording.otlp import claude_code, genai
from records.recording.otlp.attributes import attributes
from records.recording.otlp.decoding import OtlpError, data_points
from records.recording.retry import write_timeout
from records.recording.schema import clean_task
from records.recording.services import (
    RecordIdTaken,
    record_create,
    record_update,
    with_lock_retry,
)

SOURCE = claude_code.TELEMETRY_SOURCE  # the record's source when telemetry stored it first
PENDING_FOR = timedelta(days=1)
MAX_MESSAGES = 20
MSG_TAKEN = "record {record_id}: stored by another API token (send the hook's token)"
MSG_IDEM = f"record ids must not start with {IDEMPOTENCY_PREFIX!r}"
MSG_BUDGET = (
    "The batch did not fit in the write budget (PERFSITE_WRITE_TIMEOUT); the tasks written so "
    "far are stored. Retry it: nothing is stored twice."
)


def _within_budget(started: float) -> None:
    """503 (Retry-After 1) once a request has spent the write budget: gunicorn must never kill
    the worker mid-request, and the exporter's retry finishes the batch (events are deduplicated,
    so the tasks already written are not counted twice)."""
    if time.monotonic() - started > write_timeout():
        raise OtlpError(503, MSG_BUDGET, Retry_After="1")


@dataclass
class Outcome:
    """What one export request did: the answer's partial success and the ingestion log."""

    signal: str
    created: int = 0
    updated: int = 0
    rejected: int = 0  # items of tasks the schema refused
    unassigned: Counter[str] = field(default_factory=Counter)  # name -> items of no task
    ignored: Counter[str] = field(default_factory=Counter)  # metrics kept out on purpose
    errors: list[str] = field(default_factory=list)

    def reject(self, count: int, message: str) -> None:
        self.rejected += count
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(message)

    def message(self) -> str:
        """The partial-success message: why items were rejected, and what belongs to no task."""
        parts = list(self.errors)
        if self.unassigned:
            names = ", ".join(f"{name} ({n})" for name, n in self.unassigned.most_common(5))
            total = sum(self.unassigned.values())
            parts.append(f"{total} {self.signal} items belong to no task: {names}")
        return "; ".join(parts)[:4000]


def _task_error(record_id: str, exc: ValidationError) -> str:
    return f"record {record_id}: {format_errors(message_dict(exc))}"


# --- Claude Code log events ------------------------------------------------------------------


def ingest_logs(request: Any, *, token: ApiToken) -> Outcome:
    """Claude Code's events of each turn into one task per turn (created, or updated)."""
    outcome = Outcome("logs")
    turns: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for log in scope_logs.log_records:
                attrs = attributes(log.attributes)
                body = log.body.string_value if log.body.WhichOneof("value") else ""
                name = claude_code.event_name(body, attrs)
                session, prompt = attrs.get("session.id"), attrs.get("prompt.id")
                if not (
                    isinstance(session, str) and session and isinstance(prompt, str) and prompt
                ):
                    outcome.unassigned[name or "(no event name)"] += 1
                    continue
                at = log.time_unix_nano or log.observed_time_unix_nano
                event = claude_code.turn_event(name=name, time_ns=at, attrs=attrs)
                turns.setdefault((session, prompt), []).append(event)
    started = time.monotonic()
    for (session, prompt), events in turns.items():
        _within_budget(started)
        try:
            created = _upsert_turn(session, prompt, events, token=token)
        except ValidationError as exc:
            outcome.reject(len(events), _task_error(claude_code.record_id(session, prompt), exc))
        except RecordIdTaken as exc:
            outcome.reject(len(events), MSG_TAKEN.format(record_id=exc.record_id))
        else:
            if created is True:
                outcome.created += 1
            elif created is False:
                outcome.updated += 1
    return outcome


def _otlp_payload(kind: str, items: list[dict[str, Any]], **ids: str) -> dict[str, Any]:
    return {"otlp": kind, **ids, "items": items}


def _stored_items(record: TaskRecord, kind: str) -> list[dict[str, Any]]:
    return [
        item
        for entry in record.raw or []
        if entry.get("source") == SOURCE
        and isinstance(entry.get("payload"), dict)
        and entry["payload"].get("otlp") == kind
        for item in entry["payload"].get("items", [])
    ]


def _hook_payload(record: TaskRecord) -> dict[str, Any] | None:
    """The latest task the plugin's hook (or any API client) sent for this record."""
    for entry in reversed(record.raw or []):
        if entry.get("source") != SOURCE and isinstance(entry.get("payload"), dict):
            return entry["payload"]
    return None


def _upsert_turn(
    session: str, prompt: str, events: list[dict[str, Any]], *, token: ApiToken
) -> bool | None:
    """Create the turn's record, or merge new events into it; True created, False updated,
    None when every event was stored already (an exporter's retry)."""
    record_id = claude_code.record_id(session, prompt)
    payload = _otlp_payload("claude_code", events, session_id=session, prompt_id=prompt)
    if not TaskRecord.objects.filter(record_id=record_id).exists():
        data = claude_code.telemetry_task(session, prompt, events)
        task = clean_task(data)
        _record, created = record_create(task=task, source=SOURCE, payload=payload, token=token)
        if created:
            return True
    return _merge_turn(record_id, session, prompt, events, token=token)


def _merge_turn(
    record_id: str,
    session: str,
    prompt: str,
    new_events: list[dict[str, Any]],
    *,
    token: ApiToken | None,
    hook: dict[str, Any] | None = None,
) -> bool | None:
    """Rebuild a stored turn from all its events and the hook's task, under the record's lock:
    a hook and an exporter writing the same turn at once both land."""

    def write() -> bool | None:
        with transaction.atomic():
            stored = TaskRecord.objects.select_for_update().get(record_id=record_id)
            if token is not None and stored.api_token_id != token.pk:
                raise RecordIdTaken(record_id)
            old = _stored_items(stored, "claude_code")
            known = {claude_code.event_key(e) for e in old}
            fresh = [e for e in new_events if claude_code.event_key(e) not in known]
            if new_events and not fresh:
                return None
            sent = hook if hook is not None else _hook_payload(stored)
            events = claude_code.union(old, fresh)
            telemetry = claude_code.telemetry_task(session, prompt, events)
            data = claude_code.merged_task_data(sent, telemetry)
            if hook is not None:
                payload, source = hook, "api"
            else:
                payload = _otlp_payload("claude_code", fresh, session_id=session, prompt_id=prompt)
                source = SOURCE
            record_update(record=stored, task=clean_task(data), source=source, payload=payload)
            return False

    return with_lock_retry(write)


def merge_hook_task(*, record: TaskRecord, task_data: dict[str, Any]) -> TaskRecord:
    """The hook's task for a turn that telemetry stored first: merged into the same record.

    Called by ``POST /api/records`` (``records.recording.ingest.task_record``) when the record
    it names was written by telemetry with the same token. A task already merged is not again.
    """
    if any(entry.get("payload") == task_data for entry in record.raw or []):
        return record
    first = next(
        (e["payload"] for e in record.raw or [] if e.get("source") == SOURCE),
        {},
    )
    session, prompt = first.get("session_id"), first.get("prompt_id")
    if not (isinstance(session, str) and isinstance(prompt, str)):
        return record
    _merge_turn(record.record_id, session, prompt, [], token=None, hook=task_data)
    return TaskRecord.objects.get(pk=record.pk)


# --- GenAI spans -----------------------------------------------------------------------------


def ingest_traces(request: Any, *, token: ApiToken) -> Outcome:
    """GenAI spans into tasks: a root invoke_agent span and everything below it is one task."""
    outcome = Outcome("traces")
    spans: dict[tuple[str, str], dict[str, Any]] = {}
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                item = genai.span_dict(span, resource)
                spans[(item["trace_id"], item["span_id"])] = item
    if not spans:
        return outcome
    new_keys = set(spans)
    traces = {trace for trace, _ in spans}
    pending = list(PendingSpan.objects.filter(trace_id__in=traces, api_token=token))
    for row in pending:
        spans.setdefault((row.trace_id, row.span_id), row.span)
    stored_tasks: dict[str, TaskRecord] = {}
    for trace in traces:
        for record in TaskRecord.objects.filter(
            record_id__startswith=genai.trace_prefix(trace), api_token=token
        ):
            stored_tasks[record.record_id] = record
            for item in _stored_items(record, "genai"):
                spans.setdefault((item["trace_id"], item["span_id"]), item)
    grouping = genai.group_spans(list(spans.values()))
    started = time.monotonic()
    waiting = {(row.trace_id, row.span_id) for row in pending}
    changed = new_keys | waiting  # a task gains something only from these
    for members in grouping.tasks.values():
        _within_budget(started)
        if not any((s["trace_id"], s["span_id"]) in changed for s in members):
            continue  # nothing new for a stored task
        _write_span_task(members, stored=stored_tasks, token=token, outcome=outcome)
    for span in grouping.unassigned:
        if (span["trace_id"], span["span_id"]) in new_keys:
            outcome.unassigned[span["name"][:100] or "(no name)"] += 1
    used = {(s["trace_id"], s["span_id"]) for m in grouping.tasks.values() for s in m}
    now = timezone.now()

    def park() -> None:
        with transaction.atomic():
            PendingSpan.objects.filter(
                pk__in=[row.pk for row in pending if (row.trace_id, row.span_id) in used]
            ).delete()
            PendingSpan.objects.bulk_create(
                [
                    PendingSpan(
                        trace_id=s["trace_id"],
                        span_id=s["span_id"],
                        api_token=token,
                        received_at=now,
                        span=s,
                    )
                    for s in grouping.pending
                    if (s["trace_id"], s["span_id"]) in new_keys
                    and (s["trace_id"], s["span_id"]) not in waiting
                ]
            )
            expired = PendingSpan.objects.filter(api_token=token, received_at__lt=now - PENDING_FOR)
            for name in expired.values_list("span__name", flat=True):
                outcome.unassigned[f"{name} (its parent never came)"[:100]] += 1
            expired.delete()

    with_lock_retry(park)
    return outcome


def _write_span_task(
    members: list[dict[str, Any]],
    *,
    stored: dict[str, TaskRecord],
    token: ApiToken,
    outcome: Outcome,
) -> None:
    """Create the task of one root agent span and the spans below it, or rebuild it from all its
    spans when it is stored already (the raw payload gains only the spans it lacked)."""
    stored_tasks = stored
    data = genai.task_data(members)
    record_id = data.get("record_id")
    count = len(members)
    if isinstance(record_id, str) and record_id.startswith(IDEMPOTENCY_PREFIX):
        outcome.reject(count, f"record {record_id}: {MSG_IDEM}")
        return
    stored = stored_tasks.get(str(record_id)) if isinstance(record_id, str) else None
    stored_items = _stored_items(stored, "genai") if stored is not None else []
    stored_ids = {item["span_id"] for item in stored_items}
    fresh = [s for s in members if s["span_id"] not in stored_ids]
    payload = _otlp_payload("genai", fresh)
    try:
        task = clean_task(data)
        if stored is None:
            _record, created = record_create(task=task, source=SOURCE, payload=payload, token=token)
            if created:
                outcome.created += 1
                return
            stored = TaskRecord.objects.get(record_id=task.record_id)
            if stored.api_token_id != token.pk:
                raise RecordIdTaken(stored.record_id)
        record_update(record=stored, task=task, source=SOURCE, payload=payload)
        outcome.updated += 1
    except ValidationError as exc:
        outcome.reject(count, _task_error(str(record_id), exc))
    except RecordIdTaken as exc:
        outcome.reject(count, MSG_TAKEN.format(record_id=exc.record_id))


# --- metrics ---------------------------------------------------------------------------------


def ingest_metrics(request: Any, *, token: ApiToken) -> Outcome:
    """Accepted and counted, not stored (docs/opentelemetry.md, "Metrics"): Claude Code's
    metrics are per-session running totals without a prompt id, so no task can own them, and
    each of them is already in the turns' events (tokens, cost) or the hook's task (lines)."""
    outcome = Outcome("metrics")
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                outcome.ignored[metric.name[:100]] += len(data_points(metric))
    return outcome


# --- the ingestion log -------------------------------------------------------------------------


def log_outcome(outcome: Outcome, *, token: ApiToken) -> None:
    """An ImportRun row for a request that left something out (rejected, or of no task)."""
    skipped = sum(outcome.unassigned.values())
    if not skipped and not outcome.rejected:
        return
    now = timezone.now()
    files = [
        {"name": name, "count": count, "note": "belongs to no task"}
        for name, count in outcome.unassigned.most_common(50)
    ]
    ImportRun.objects.create(
        paths=[f"otlp:/v1/{outcome.signal}", f"token:{token.name} ({token.prefix})"],
        status=ImportRun.Status.FAILED if outcome.rejected else ImportRun.Status.OK,
        finished_at=now,
        created=outcome.created,
        merged=outcome.updated,
        skipped=skipped,
        failed=outcome.rejected,
        files=files,
        errors=[{"reason": reason} for reason in outcome.errors],
    )
