"""OTLP export requests as real exporters send them, built with opentelemetry-proto's messages."""

from __future__ import annotations

import time
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SESSION = "5b0c6a1e-0000-4000-8000-000000000001"


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in attrs.items()]


class Turn:
    """Claude Code's events of one prompt, with the attributes the real CLI 2.1 sends."""

    sequence = 0

    def __init__(self, prompt_id: str, *, session: str = SESSION, start_ns: int | None = None):
        self.session, self.prompt_id = session, prompt_id
        self.at = start_ns or time.time_ns() - 60 * 10**9

    def event(self, name: str, seconds: float, **attrs: Any) -> dict[str, Any]:
        Turn.sequence += 1
        return {
            "name": name,
            "time_ns": self.at + int(seconds * 1e9),
            "attrs": {
                "user.id": "ab" * 32,
                "session.id": self.session,
                "terminal.type": "non-interactive",
                "event.name": name,
                "event.sequence": Turn.sequence,
                "prompt.id": self.prompt_id,
                **attrs,
            },
        }

    def prompt(self, seconds: float = 0, text: str | None = None, length: int = 17):
        shown = text if text is not None else "<REDACTED>"
        return self.event(
            "user_prompt", seconds, prompt_length=str(len(text or "") or length), prompt=shown
        )

    def api_request(self, seconds: float, model="claude-sonnet-4-5", cost=0.0006525, **tokens):
        usage = {
            "input_tokens": 100,
            "output_tokens": 20,
            "cache_read_tokens": 50,
            "cache_creation_tokens": 10,
        } | tokens
        return self.event(
            "api_request", seconds, model=model, cost_usd=cost, duration_ms=80, **usage
        )

    def api_error(self, seconds: float, status="529", error="Overloaded"):
        return self.event(
            "api_error", seconds, model="claude-sonnet-4-5", status_code=status, error=error
        )

    def tool_result(self, seconds: float, tool="Bash", success=True, **attrs):
        return self.event(
            "tool_result",
            seconds,
            tool_name=tool,
            success=str(success).lower(),
            duration_ms="69",
            **attrs,
        )


def logs_request(
    events: list[dict[str, Any]], *, extra: list[dict[str, Any]] = ()
) -> ExportLogsServiceRequest:
    """One export request: the events as log records under Claude Code's resource and scope."""
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        kvs({"service.name": "claude-code", "service.version": "2.1.332"})
    )
    scope = resource_logs.scope_logs.add()
    scope.scope.name = "com.anthropic.claude_code.events"
    for event in [*events, *extra]:
        record = scope.log_records.add()
        record.time_unix_nano = event["time_ns"]
        record.observed_time_unix_nano = event["time_ns"]
        record.body.string_value = f"claude_code.{event['name']}"
        record.attributes.extend(kvs(event["attrs"]))
    return request


def startup_event(session: str = SESSION) -> dict[str, Any]:
    """An event of no turn (no prompt.id), as Claude Code sends at start-up."""
    return {
        "name": "plugin_loaded",
        "time_ns": time.time_ns(),
        "attrs": {"session.id": session, "event.name": "plugin_loaded", "plugin.name": "x"},
    }


def as_protobuf(request) -> bytes:
    return request.SerializeToString()


def as_json(request) -> bytes:
    """OTLP/JSON: camelCase keys, hex ids (none in log records from Claude Code)."""
    return json_format.MessageToJson(request).encode()
