"""GenAI semantic-convention spans as tasks (pure functions).

An agent framework instrumented with the OpenTelemetry GenAI conventions emits a span per agent
run (``gen_ai.operation.name`` = ``invoke_agent``), per tool call (``execute_tool``) and per model
call (``chat``, ``text_completion``, ``generate_content``). Here:

- an ``invoke_agent`` span with no ``invoke_agent`` above it is a task: agent, model, duration,
  success (its status is not ERROR);
- ``invoke_agent`` spans below it are its sub-agents (``agents_delegated``);
- ``execute_tool`` spans below it are tools; a failed one is an issue;
- model-call spans below it add their tokens, and their model;
- ``perfsite.*`` attributes of the task's span set the task's fields directly
  (``perfsite.task_type``, ``perfsite.quality_score``, ``perfsite.files_modified``, ...).

A span whose parent has not arrived yet waits (``pending``); a span whose ancestry is known and
holds no agent belongs to no task (``unassigned``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from records.recording.otlp.attributes import any_value, as_int, attributes

OPERATION = "gen_ai.operation.name"
AGENT, TOOL = "invoke_agent", "execute_tool"
MODEL_CALLS = frozenset({"chat", "text_completion", "generate_content"})
PERFSITE_PREFIX = "perfsite."
RECORD_ID_PREFIX = "otel-"
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
MAX_KEPT_TEXT = 2_000
_RECORD_ID_BAD = re.compile(r"[\s/?#]+")


def span_dict(span: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """A protobuf ``Span`` as the plain dict kept in the record's raw payload."""
    attrs = {key: _kept(value) for key, value in attributes(span.attributes).items()}
    exception = None
    for event in span.events:
        if event.name == "exception":
            for kv in event.attributes:
                if kv.key == "exception.message":
                    exception = _kept(any_value(kv.value))
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name[:MAX_KEPT_TEXT],
        "start_ns": span.start_time_unix_nano,
        "end_ns": span.end_time_unix_nano,
        "status": span.status.code,
        "status_message": span.status.message[:MAX_KEPT_TEXT],
        "exception": exception,
        "attributes": attrs,
        "service": resource.get("service.name"),
    }


def _kept(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and len(value) > MAX_KEPT_TEXT:
        return value[:MAX_KEPT_TEXT]
    return value


def task_record_id(trace_id: str, span_id: str) -> str:
    return _RECORD_ID_BAD.sub("-", f"{RECORD_ID_PREFIX}{trace_id}-{span_id}")[:200]


def trace_prefix(trace_id: str) -> str:
    return f"{RECORD_ID_PREFIX}{trace_id}-"


@dataclass
class Grouping:
    """Where each span of some traces belongs."""

    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # root id -> spans
    pending: list[dict[str, Any]] = field(default_factory=list)  # parent not seen yet
    unassigned: list[dict[str, Any]] = field(default_factory=list)  # known ancestry, no agent


def operation(span: dict[str, Any]) -> str:
    value = span["attributes"].get(OPERATION)
    return value if isinstance(value, str) else ""


def group_spans(spans: list[dict[str, Any]]) -> Grouping:
    """Assign each span to the task whose root ``invoke_agent`` span is above it (or itself)."""
    by_id = {(s["trace_id"], s["span_id"]): s for s in spans}
    grouping = Grouping()
    for span in by_id.values():
        root, complete = None, True
        node, seen = span, set()
        while True:
            key = (node["trace_id"], node["span_id"])
            if key in seen:  # a cycle: a broken client; no task
                complete = True
                break
            seen.add(key)
            if operation(node) == AGENT:
                root = node
            parent = node["parent_span_id"]
            if not parent or parent == "0" * 16:
                break
            above = by_id.get((node["trace_id"], parent))
            if above is None:
                complete = False
                break
            node = above
        if not complete:
            # Something above has not arrived: its root may be an agent further up.
            grouping.pending.append(span)
        elif root is None:
            grouping.unassigned.append(span)
        else:
            grouping.tasks.setdefault(f"{root['trace_id']}:{root['span_id']}", []).append(span)
    return grouping


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _failed(span: dict[str, Any]) -> str | None:
    """Why a span failed (its status is ERROR, or it names an error.type), else None."""
    attrs = span["attributes"]
    if span["status"] != STATUS_ERROR and not attrs.get("error.type"):
        return None
    return str(
        span["status_message"] or span.get("exception") or attrs.get("error.type") or "failed"
    )


def _agent_name(span: dict[str, Any]) -> str | None:
    name = span["attributes"].get("gen_ai.agent.name")
    return name if isinstance(name, str) and name.strip() else None


def task_data(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The task of one root ``invoke_agent`` span and the spans below it, as task data."""
    by_id = {s["span_id"]: s for s in spans}
    root = next(
        s
        for s in spans
        if operation(s) == AGENT
        and (s["parent_span_id"] not in by_id or operation(by_id[s["parent_span_id"]]) != AGENT)
        and not any(operation(a) == AGENT for a in _ancestors(s, by_id))
    )
    attrs = root["attributes"]
    agent = _agent_name(root)
    data: dict[str, Any] = {
        "record_id": task_record_id(root["trace_id"], root["span_id"]),
        "description": attrs.get("gen_ai.agent.description") or root["name"],
        "auto_generated": True,
        "agent": agent,
        "trace_id": root["trace_id"],
        "span_id": root["span_id"],
    }
    if root["end_ns"] and root["start_ns"] and root["end_ns"] >= root["start_ns"]:
        data["duration"] = (root["end_ns"] - root["start_ns"]) / 1e9
    if root["end_ns"]:
        data["recorded_at"] = _time(root["end_ns"])
    why = _failed(root)
    data["success"] = why is None
    issues = [f"{agent or root['name']}: {why}"] if why else []
    models: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    sub_agents: list[str] = []
    tools: list[dict[str, Any]] = []
    calls = 0
    for span in sorted(spans, key=lambda s: s["start_ns"]):
        op = operation(span)
        span_attrs = span["attributes"]
        if span is root:
            continue
        owner = _owner(span, by_id, root)
        if op == AGENT:
            sub_agents.append(_agent_name(span) or span["name"])
            why = _failed(span)
            if why:
                issues.append(f"{_agent_name(span) or span['name']}: {why}")
        elif op == TOOL:
            tool = span_attrs.get("gen_ai.tool.name") or span["name"]
            why = _failed(span)
            tools.append({"name": tool, "success": why is None})
            if why:
                prefix = f"{owner}: " if owner else ""
                issues.append(f"{prefix}{tool}: {why}"[:MAX_KEPT_TEXT])
        elif op in MODEL_CALLS:
            calls += 1
            model = span_attrs.get("gen_ai.response.model") or span_attrs.get(
                "gen_ai.request.model"
            )
            if isinstance(model, str):
                models[model] += 1
            _add_usage(tokens, span_attrs)
    if not calls:
        _add_usage(tokens, attrs)  # usage recorded on the agent span itself
    for key in ("gen_ai.request.model", "gen_ai.response.model"):
        if not models and isinstance(attrs.get(key), str):
            models[attrs[key]] += 1
    if models:
        data["model_used"] = models.most_common(1)[0][0]
    data.update({key: value for key, value in tokens.items()})
    if sub_agents:
        data["agents_delegated"] = list(dict.fromkeys(sub_agents))
    data["issues_found"] = issues
    data["tools"] = tools
    conversation = attrs.get("gen_ai.conversation.id")
    if isinstance(conversation, str) and conversation:
        data["session_id"] = conversation
    data.update(perfsite_fields(attrs))
    return data


def _ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found, node, seen = [], span, {span["span_id"]}
    while node["parent_span_id"] in by_id and node["parent_span_id"] not in seen:
        node = by_id[node["parent_span_id"]]
        seen.add(node["span_id"])
        found.append(node)
    return found


def _owner(span: dict[str, Any], by_id: dict[str, dict[str, Any]], root: dict[str, Any]) -> str:
    """The sub-agent a span ran in (its nearest ``invoke_agent`` above, below the root), or ""."""
    for above in _ancestors(span, by_id):
        if above is root:
            return ""
        if operation(above) == AGENT:
            return _agent_name(above) or above["name"]
    return ""


def _add_usage(tokens: Counter[str], attrs: dict[str, Any]) -> None:
    """GenAI usage as Perfsite counts it: input tokens *not* read from or written to the cache
    (the conventions count cached tokens in ``gen_ai.usage.input_tokens``)."""
    given = as_int(attrs.get("gen_ai.usage.input_tokens"))
    output = as_int(attrs.get("gen_ai.usage.output_tokens"))
    read = as_int(attrs.get("gen_ai.usage.cache_read.input_tokens")) or 0
    created = as_int(attrs.get("gen_ai.usage.cache_creation.input_tokens")) or 0
    if given is not None:
        tokens["input_tokens"] += max(0, given - read - created)
    if output is not None:
        tokens["output_tokens"] += output
    if read:
        tokens["cache_read_tokens"] += read
    if created:
        tokens["cache_creation_tokens"] += created


def perfsite_fields(attrs: dict[str, Any]) -> dict[str, Any]:
    """``perfsite.<field>`` attributes as task fields, unchanged: the schema checks them."""
    return {
        key[len(PERFSITE_PREFIX) :]: value
        for key, value in attrs.items()
        if key.startswith(PERFSITE_PREFIX) and len(key) > len(PERFSITE_PREFIX)
    }
