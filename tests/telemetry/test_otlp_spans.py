"""GenAI spans over /v1/traces in pieces: late spans, spans that wait, spans of no task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from records.models import ImportRun, PendingSpan, TaskRecord
from tests.records.test_rollups import rebuild, snapshot, without_ids
from tests.telemetry.agent import run_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded():
    """Spans the real SDK made, finished in order (children before their parents)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider.get_tracer("scripted-agent"), memory


def body(spans) -> bytes:
    return encode_spans(spans).SerializeToString()


def test_a_tool_span_that_comes_after_its_task_updates_it(post, recorded):
    tracer, memory = recorded
    with tracer.start_as_current_span("invoke_agent planner") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "planner")
        root.set_attribute("perfsite.task_type", "testing")
        context = root.get_span_context()
    assert post("traces", body(memory.get_finished_spans())).status_code == 200
    record = TaskRecord.objects.get()
    assert record.issues == [] and record.task_type == "testing"
    memory.clear()
    from opentelemetry import trace

    with (
        trace.use_span(trace.NonRecordingSpan(context)),
        tracer.start_as_current_span("execute_tool pytest") as tool,
    ):
        tool.set_attribute("gen_ai.operation.name", "execute_tool")
        tool.set_attribute("gen_ai.tool.name", "pytest")
        tool.set_status(Status(StatusCode.ERROR, "exit 1"))
    assert post("traces", body(memory.get_finished_spans())).status_code == 200
    record = TaskRecord.objects.get()
    assert record.issues == ["pytest: exit 1"] and record.task_type == "testing"
    assert [entry["source"] for entry in record.raw] == ["otlp", "otlp"]
    incremental = snapshot()
    rebuild()
    assert without_ids(snapshot()) == without_ids(incremental)


def test_children_wait_for_their_agent_then_join_its_task(post, recorded):
    tracer, memory = recorded
    run_agent(tracer)
    spans = memory.get_finished_spans()
    *children, root = spans  # the root ends last
    assert post("traces", body(children)).status_code == 200
    assert TaskRecord.objects.count() == 0
    assert PendingSpan.objects.count() == len(children)
    assert post("traces", body(children)).status_code == 200  # a retry: not parked twice
    assert PendingSpan.objects.count() == len(children)
    assert post("traces", body([root])).status_code == 200
    record = TaskRecord.objects.get()
    assert record.issues == ["reviewer: run_tests: 2 tests failed"]
    assert record.output_tokens == 400
    assert PendingSpan.objects.count() == 0


def test_spans_whose_agent_never_comes_are_dropped_after_a_day_and_counted(post, recorded):
    tracer, memory = recorded
    run_agent(tracer)
    *children, _root = memory.get_finished_spans()
    assert post("traces", body(children)).status_code == 200
    PendingSpan.objects.update(received_at=timezone.now() - timedelta(days=2))
    memory.clear()
    with tracer.start_as_current_span("GET /health"):
        pass
    assert post("traces", body(memory.get_finished_spans())).status_code == 200
    assert PendingSpan.objects.count() == 0
    run = ImportRun.objects.get()
    assert run.skipped == 1 + len(children)
    names = {entry["name"] for entry in run.files}
    assert "GET /health" in names and "execute_tool run_tests (its parent never came)" in names


def test_the_admin_shows_the_ingestion_log_and_the_waiting_spans(post, recorded, admin_client):
    tracer, memory = recorded
    run_agent(tracer)
    *children, _root = memory.get_finished_spans()
    memory.clear()
    with tracer.start_as_current_span("GET /health"):
        pass
    assert post("traces", body([*children, *memory.get_finished_spans()])).status_code == 200
    run = ImportRun.objects.get()
    page = admin_client.get(f"/admin/records/importrun/{run.pk}/change/").content.decode()
    assert "otlp:/v1/traces" in page and "GET /health" in page
    listing = admin_client.get("/admin/records/pendingspan/")
    assert listing.status_code == 200
    assert children[0].context.span_id.to_bytes(8, "big").hex() in listing.content.decode()
    waiting = PendingSpan.objects.first()
    detail = admin_client.get(f"/admin/records/pendingspan/{waiting.pk}/change/")
    assert detail.status_code == 200 and waiting.span["name"] in detail.content.decode()
