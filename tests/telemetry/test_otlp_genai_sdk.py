"""GenAI spans from the real OpenTelemetry SDK and its OTLP/HTTP exporter, to a live Perfsite."""

from __future__ import annotations

import base64
import json

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from records.models import ImportRun, PendingSpan, TaskRecord
from records.recording.tokens import token_create
from tests.records.test_rollups import rebuild, snapshot, without_ids
from tests.telemetry.agent import run_agent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def provider(url: str, token: str, *, batch: bool) -> TracerProvider:
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "scripted-agent"}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    tracer_provider.add_span_processor(processor)
    return tracer_provider


def assert_planner_task(record: TaskRecord) -> None:
    assert record.source == "otlp" and record.record_id.startswith("otel-")
    assert record.description == "Add pagination to the orders API"
    assert record.task_type == "coding" and record.task_label == "coding"
    assert (record.files_modified, record.lines_changed) == (3, 42)
    assert record.model.name == "Claude Sonnet 4.5"
    assert list(record.agents.values_list("name", flat=True)) == ["reviewer"]
    assert list(record.skills.values_list("name", flat=True)) == ["api-design"]
    assert record.issues == ["reviewer: run_tests: 2 tests failed"]
    assert record.success is True  # the agent itself finished
    # chat spans: 1200 + 500 input of which 1000 read from the cache
    assert (record.input_tokens, record.output_tokens, record.cache_read_tokens) == (700, 400, 1000)
    assert record.session_id == "conv-1"
    assert record.duration_seconds is not None and record.duration_seconds >= 0
    assert record.cost_usd is not None and record.cost_source.startswith("genai-prices")


def assert_rollups_exact():
    incremental = snapshot()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_a_scripted_agent_through_the_batch_exporter_is_one_task(live_server):
    _, token = token_create(name="agent-host")
    tracer_provider = provider(live_server.url, token, batch=True)
    tracer = tracer_provider.get_tracer("scripted-agent")
    run_agent(tracer)
    with tracer.start_as_current_span("GET /health"):  # no agent: belongs to no task
        pass
    assert tracer_provider.force_flush(30_000)
    tracer_provider.shutdown()
    record = TaskRecord.objects.get()
    assert_planner_task(record)
    assert len(record.raw[0]["payload"]["items"]) == 6  # every span of the task is kept
    run = ImportRun.objects.get()
    assert run.skipped == 1 and run.files[0]["name"] == "GET /health"
    assert PendingSpan.objects.count() == 0
    assert_rollups_exact()


def test_spans_exported_one_by_one_wait_for_their_agent(live_server):
    """SimpleSpanProcessor sends each span as it ends: the children come before their agent."""
    _, token = token_create(name="agent-host")
    tracer_provider = provider(live_server.url, token, batch=False)
    run_agent(tracer_provider.get_tracer("scripted-agent"))
    tracer_provider.shutdown()
    record = TaskRecord.objects.get()
    assert_planner_task(record)
    assert PendingSpan.objects.count() == 0  # all claimed by the task
    assert ImportRun.objects.count() == 0
    assert_rollups_exact()


def test_a_failed_agent_and_bad_perfsite_fields(live_server):
    _, token = token_create(name="agent-host")
    tracer_provider = provider(live_server.url, token, batch=True)
    tracer = tracer_provider.get_tracer("scripted-agent")
    run_agent(tracer, conversation="conv-bad", extra={"perfsite.files_modified": -4})
    try:
        with tracer.start_as_current_span("invoke_agent fixer") as span:
            span.set_attribute("gen_ai.operation.name", "invoke_agent")
            span.set_attribute("gen_ai.agent.name", "fixer")
            span.set_attribute("perfsite.quality_score", 0.4)
            raise RuntimeError("gave up")
    except RuntimeError:
        pass
    assert tracer_provider.force_flush(30_000)
    tracer_provider.shutdown()
    record = TaskRecord.objects.get()  # the planner's task was refused: files_modified < 0
    assert record.success is False and record.quality_score == 40
    assert record.issues == ["fixer: RuntimeError: gave up"]
    run = ImportRun.objects.get()
    assert run.failed == 6 and "files_modified" in run.errors[0]["reason"]


def hex_ids(document):
    """protobuf JSON (base64 ids) as OTLP/JSON (hex ids)."""
    if isinstance(document, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in {"traceId", "spanId", "parentSpanId"}
            else hex_ids(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [hex_ids(item) for item in document]
    return document


def test_the_same_spans_as_otlp_json(client):
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    _, token = token_create(name="agent-host")
    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    run_agent(tracer_provider.get_tracer("scripted-agent"))
    request = encode_spans(memory.get_finished_spans())
    body = json.dumps(hex_ids(json_format.MessageToDict(request))).encode()
    response = client.generic(
        "POST",
        "/v1/traces",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert_planner_task(TaskRecord.objects.get())
