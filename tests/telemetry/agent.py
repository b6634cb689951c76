"""A small scripted agent instrumented with the real OpenTelemetry SDK and GenAI conventions.

``run_agent`` plays one task: a planner agent that calls the model, reads a file, and hands the
review to a sub-agent whose model call is followed by a failing test run. The spans are what
OpenTelemetry's GenAI instrumentations emit (``gen_ai.operation.name`` and friends).
"""

from __future__ import annotations

from opentelemetry.trace import Status, StatusCode, Tracer

MODEL = "claude-sonnet-4-5"


def chat(tracer: Tracer, *, input_tokens: int, output_tokens: int, cache_read: int = 0) -> None:
    with tracer.start_as_current_span(f"chat {MODEL}") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "anthropic")
        span.set_attribute("gen_ai.request.model", MODEL)
        span.set_attribute("gen_ai.response.model", f"{MODEL}-20250929")
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        if cache_read:
            span.set_attribute("gen_ai.usage.cache_read.input_tokens", cache_read)


def tool(tracer: Tracer, name: str, *, fail: str | None = None) -> None:
    with tracer.start_as_current_span(f"execute_tool {name}", record_exception=False) as span:
        span.set_attribute("gen_ai.operation.name", "execute_tool")
        span.set_attribute("gen_ai.tool.name", name)
        if fail:
            span.set_attribute("error.type", "ToolError")
            span.set_status(Status(StatusCode.ERROR, fail))


def run_agent(tracer: Tracer, *, conversation: str = "conv-1", extra: dict | None = None) -> None:
    with tracer.start_as_current_span("invoke_agent planner") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "planner")
        root.set_attribute("gen_ai.conversation.id", conversation)
        root.set_attribute("gen_ai.request.model", MODEL)
        root.set_attribute("perfsite.description", "Add pagination to the orders API")
        root.set_attribute("perfsite.task_type", "coding")
        root.set_attribute("perfsite.files_modified", 3)
        root.set_attribute("perfsite.lines_changed", 42)
        root.set_attribute("perfsite.skills_used", ["api-design"])
        for key, value in (extra or {}).items():
            root.set_attribute(key, value)
        chat(tracer, input_tokens=1200, output_tokens=300, cache_read=1000)
        tool(tracer, "read_file")
        with tracer.start_as_current_span("invoke_agent reviewer") as sub:
            sub.set_attribute("gen_ai.operation.name", "invoke_agent")
            sub.set_attribute("gen_ai.agent.name", "reviewer")
            chat(tracer, input_tokens=500, output_tokens=100)
            tool(tracer, "run_tests", fail="2 tests failed")
