"""Claude Code's OpenTelemetry log events as tasks: one task per prompt (pure functions).

Claude Code (``CLAUDE_CODE_ENABLE_TELEMETRY=1``, ``OTEL_LOGS_EXPORTER=otlp``) sends one log
record per event; the events of one turn carry the same ``session.id`` and ``prompt.id``. Those
of ``user_prompt``, ``api_request``, ``api_error`` and ``tool_result`` make the task; the record
id is the one the ``perfsite-recorder`` plugin's hook gives the same turn
(``integrations/claude-code/perfsite_recorder/tasks.py``: ``cc-<session id>-<prompt id>``), so a
turn recorded both ways is one record, merged by ``merged_task_data``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from records.recording.otlp.attributes import as_bool, as_float, as_int

EVENT_PREFIX = "claude_code."
SCOPE = "com.anthropic.claude_code.events"
# The hook's derivation of a turn's record id, verbatim (perfsite_recorder.tasks.record_id).
RECORD_ID_PREFIX = "cc-"
MAX_RECORD_ID = 200
_RECORD_ID_BAD = re.compile(r"[\s/?#]+")
REDACTED = "<REDACTED>"
# Per-user and per-host attributes every event repeats: not kept in the record's raw payload.
_NOT_KEPT = frozenset(
    {
        "user.id",
        "user.email",
        "user.account_uuid",
        "organization.id",
        "session.id",
        "terminal.type",
        "event.timestamp",
        "anthropic.provider",
        "anthropic.custom_base_url",
    }
)
MAX_KEPT_TEXT = 2_000  # a kept attribute's text (tool parameters, error messages) is cut here
MAX_DESCRIPTION = 20_000
TELEMETRY_SOURCE = "otlp"


def record_id(session_id: str, prompt_id: str) -> str:
    """The id of one turn: the plugin hook's, character for character."""
    raw = f"{RECORD_ID_PREFIX}{session_id}-{prompt_id}"
    return _RECORD_ID_BAD.sub("-", raw)[:MAX_RECORD_ID]


def event_name(body: Any, attrs: dict[str, Any]) -> str:
    """``user_prompt`` for ``claude_code.user_prompt``: the ``event.name`` attribute, else the
    log body."""
    name = attrs.get("event.name")
    if not isinstance(name, str) or not name:
        name = body if isinstance(body, str) else ""
    return name[len(EVENT_PREFIX) :] if name.startswith(EVENT_PREFIX) else name


def _kept(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and len(value) > MAX_KEPT_TEXT:
        return value[:MAX_KEPT_TEXT]
    return value


def turn_event(*, name: str, time_ns: int, attrs: dict[str, Any]) -> dict[str, Any]:
    """The stored form of one event of a turn (kept in the record's raw payload)."""
    kept = {key: _kept(value) for key, value in attrs.items() if key not in _NOT_KEPT}
    for key in ("prompt", "prompt_text"):
        if kept.get(key) == REDACTED:
            del kept[key]
    return {"event": name, "time_ns": time_ns, "attributes": kept}


def event_key(event: dict[str, Any]) -> str:
    """Identity of an event, so an exporter's retry of a batch counts nothing twice."""
    return f"{event['event']}:{event['attributes'].get('event.sequence')}:{event['time_ns']}"


def union(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of several batches, each once, in time order."""
    seen: dict[str, dict[str, Any]] = {}
    for group in groups:
        for event in group:
            seen.setdefault(event_key(event), event)
    return sorted(
        seen.values(), key=lambda e: (e["time_ns"], str(e["attributes"].get("event.sequence")))
    )


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _issue_text(text: Any) -> str:
    return str(text).strip()[:MAX_KEPT_TEXT]


def telemetry_task(session_id: str, prompt_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The task one turn's events describe, as task data for ``clean_task``.

    Tokens and ``cost_usd`` are the sums over ``api_request`` events (Claude Code's own cost, so
    ``cost_usd`` is given, not estimated); the model is the one most requests used; failed tool
    results and API errors are issues; a turn whose last API call failed is not a success; the
    duration runs from the first event to the last; the prompt is the description when the user
    exports it (``OTEL_LOG_USER_PROMPTS=1``), else only its length is known.
    """
    events = union(events)
    task: dict[str, Any] = {
        "record_id": record_id(session_id, prompt_id),
        "session_id": session_id,
        "prompt_id": prompt_id,
        "auto_generated": True,
    }
    tokens = Counter()
    cost = 0.0
    models: Counter[str] = Counter()
    issues: list[str] = []
    tools: list[dict[str, Any]] = []
    skills: list[str] = []
    agents: list[str] = []
    last_api: str | None = None
    prompt_text, prompt_length = None, None
    requests = 0
    for event in events:
        name, attrs = event["event"], event["attributes"]
        if name == "user_prompt":
            text = attrs.get("prompt")
            if isinstance(text, str) and text.strip():
                prompt_text = text
            prompt_length = as_int(attrs.get("prompt_length"))
        elif name == "api_request":
            requests += 1
            last_api = "ok"
            if isinstance(attrs.get("model"), str):
                models[attrs["model"]] += 1
            for key in (
                "input_tokens",
                "output_tokens",
                "cache_read_tokens",
                "cache_creation_tokens",
            ):
                tokens[key] += as_int(attrs.get(key)) or 0
            cost += as_float(attrs.get("cost_usd")) or 0.0
        elif name == "api_error":
            last_api = "error"
            status = attrs.get("status_code")
            error = attrs.get("error") or "error"
            issues.append(
                _issue_text(f"API Error: {status} {error}" if status else f"API Error: {error}")
            )
        elif name == "tool_result":
            tool = str(attrs.get("tool_name") or "tool")
            ok = as_bool(attrs.get("success"))
            tools.append(
                {"name": tool, "success": ok, "duration_ms": as_int(attrs.get("duration_ms"))}
            )
            if ok is False:
                why = attrs.get("error") or attrs.get("error_type") or "failed"
                issues.append(_issue_text(f"{tool}: {why}"))
            skill, agent = _delegation(tool, attrs.get("tool_parameters"))
            if skill:
                skills.append(skill)
            if agent:
                agents.append(agent)
    if prompt_text is not None:
        task["description"] = prompt_text[:MAX_DESCRIPTION]
    else:
        task["task_type"] = "general"
        task["description"] = (
            f"Claude Code turn (prompt of {prompt_length} characters, not exported)"
            if prompt_length is not None
            else "Claude Code turn (prompt not exported)"
        )
    task["prompt_length"] = prompt_length
    if models:
        task["model_used"] = models.most_common(1)[0][0]
    if requests:
        task.update(tokens)
        task["cost_usd"] = round(cost, 10)
    if events:
        first, last = events[0]["time_ns"], events[-1]["time_ns"]
        task["duration"] = max(0.0, (last - first) / 1e9)
        task["recorded_at"] = _time(last)
    task["issues_found"] = issues
    task["success"] = last_api != "error"
    if skills:
        task["skills_used"] = list(dict.fromkeys(skills))
    if agents:
        task["agents_delegated"] = list(dict.fromkeys(agents))
    task["tools"] = tools
    return task


def _delegation(tool: str, parameters: Any) -> tuple[str | None, str | None]:
    """The skill or sub-agent a tool call names, when Claude Code exports tool parameters
    (``OTEL_LOG_TOOL_DETAILS=1``): the Skill tool's skill, the Agent (Task) tool's type."""
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            return None, None
    if not isinstance(parameters, dict):
        return None, None
    skill = parameters.get("skill_name") or parameters.get("skill")
    agent = parameters.get("subagent_type")
    return (
        skill if tool == "Skill" and isinstance(skill, str) else None,
        agent if tool in {"Agent", "Task"} and isinstance(agent, str) else None,
    )


# What the plugin's hook knows better (it reads the transcript): kept from its task when given.
HOOK_WINS = (
    "task_type",
    "description",
    "model_used",
    "duration",
    "success",
    "issues_found",
    "files_modified",
    "lines_changed",
    "skills_used",
    "agents_delegated",
    "recorded_at",
    "project",
    "git_branch",
)
# What the telemetry knows exactly: Claude Code's own token counts and cost.
TELEMETRY_WINS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "cost_usd",
)


def merged_task_data(hook: dict[str, Any] | None, telemetry: dict[str, Any]) -> dict[str, Any]:
    """One turn's task from the hook's task (``POST /api/records``) and its telemetry.

    The hook's files, lines, skills, sub-agents, prompt, project and branch stay; the telemetry's
    tokens and cost are Claude Code's own and win over the hook's (whose cost the server would
    only estimate from the tokens). Without a hook task, the telemetry's task as it is.
    """
    if not hook:
        return dict(telemetry)
    merged = {key: value for key, value in telemetry.items() if key not in HOOK_WINS}
    for key, value in hook.items():
        if key in TELEMETRY_WINS and telemetry.get(key) is not None:
            continue
        if key in HOOK_WINS and value is None:
            if key in telemetry:
                merged[key] = telemetry[key]
            continue
        merged[key] = value
    for key in HOOK_WINS:
        if key not in hook and key in telemetry:
            merged[key] = telemetry[key]
    if hook.get("description") is not None or hook.get("task_type") is not None:
        # The hook's labelling decides; the telemetry's placeholder description must not.
        merged["task_type"] = hook.get("task_type")
        merged["description"] = hook.get("description")
    merged["record_id"] = telemetry["record_id"]
    return merged
