"""OTLP/HTTP bodies in and answers out: content types, gzip, size limits, protobuf and JSON.

Decoding is ``opentelemetry-proto``'s generated messages (``ParseFromString``, and protobuf's
``json_format`` for the JSON encoding); nothing here reads the wire format by hand. The OTLP/JSON
encoding differs from protobuf's canonical JSON in one way that matters: trace and span ids are
hex strings, not base64 (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding); they
are turned into base64 before ``json_format`` reads the document.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# The body as sent (gzip-compressed or not), checked against Content-Length before any byte is
# read, and the body once decompressed. A Claude Code batch of 512 events is under 1 MB as JSON.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_DECODED_BYTES = 16 * 1024 * 1024
# Per resource, scope, log record, span, span event or data point. OpenTelemetry SDKs cap a span
# at 128 attributes by default; a thousand is a client bug or an attack.
MAX_ATTRIBUTES = 1000
# Log records, spans or data points in one request. Exporters send 512 by default
# (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE); each may be a task to write.
MAX_ITEMS = 10_000
# The OTLP/JSON keys whose values are hex ids (protobuf bytes fields).
_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id"})
_HEX_ID_KEYS |= {"parent_span_id"}

MSG_CONTENT_TYPE = (
    f"Content-Type must be {PROTOBUF} or {JSON} (OTLP/HTTP); set OTEL_EXPORTER_OTLP_PROTOCOL to "
    "http/protobuf or http/json."
)
MSG_ENCODING = "Content-Encoding must be gzip or none."
MSG_TOO_LARGE = (
    f"The body must be at most {MAX_BODY_BYTES} bytes as sent and {MAX_DECODED_BYTES} bytes "
    "decompressed; export smaller batches (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, "
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE)."
)
MSG_GZIP = "The body is not valid gzip data."
MSG_JSON = "The body is not valid OTLP/JSON: {reason}"
MSG_PROTOBUF = "The body is not a valid OTLP protobuf message: {reason}"
MSG_ATTRIBUTES = f"An item carries more than {MAX_ATTRIBUTES} attributes: {{where}}."
MSG_ITEMS = (
    f"A request may carry at most {MAX_ITEMS} log records, spans or data points; export smaller "
    "batches (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE)."
)


class OtlpError(Exception):
    """A request answered with ``status`` and a google.rpc.Status carrying ``message``."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Signal:
    """One OTLP signal: its path, request and response messages, and its partial-success field."""

    name: str
    request: type[Message]
    response: type[Message]
    rejected_field: str


LOGS = Signal(
    "logs",
    logs_service_pb2.ExportLogsServiceRequest,
    logs_service_pb2.ExportLogsServiceResponse,
    "rejected_log_records",
)
TRACES = Signal(
    "traces",
    trace_service_pb2.ExportTraceServiceRequest,
    trace_service_pb2.ExportTraceServiceResponse,
    "rejected_spans",
)
METRICS = Signal(
    "metrics",
    metrics_service_pb2.ExportMetricsServiceRequest,
    metrics_service_pb2.ExportMetricsServiceResponse,
    "rejected_data_points",
)

_GRPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    405: code_pb2.UNIMPLEMENTED,
    409: code_pb2.ALREADY_EXISTS,
    411: code_pb2.INVALID_ARGUMENT,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


def media_type(content_type: str | None) -> str | None:
    """``application/x-protobuf`` or ``application/json`` (parameters ignored), else None."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind if kind in {PROTOBUF, JSON} else None


def check_encoding(content_encoding: str | None) -> bool:
    """Whether the body's Content-Encoding is gzip (True) or none (False); OtlpError if other."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in {"", "identity"}:
        return False
    if encoding in {"gzip", "x-gzip"}:
        return True
    raise OtlpError(415, MSG_ENCODING)


def gunzip(data: bytes, *, limit: int = MAX_DECODED_BYTES) -> bytes:
    """Decompress at most ``limit`` bytes: a small body that inflates past it is refused (413)
    without ever holding more than the limit in memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise OtlpError(400, MSG_GZIP) from exc
    if len(out) > limit:
        raise OtlpError(413, MSG_TOO_LARGE)
    if not inflater.eof:
        raise OtlpError(400, MSG_GZIP)  # truncated
    return out


def _hex_ids_to_base64(value: Any) -> Any:
    """The OTLP/JSON document with its hex ids written as protobuf JSON's base64 (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key in _HEX_ID_KEYS and isinstance(child, str):
                    try:
                        item[key] = base64.b64encode(bytes.fromhex(child)).decode()
                    except ValueError as exc:
                        raise OtlpError(400, MSG_JSON.format(reason=f"{key} is not hex")) from exc
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return value


def decode(signal: Signal, body: bytes, kind: str) -> Message:
    """The export request in ``body`` (protobuf or JSON), or OtlpError 400 saying why not."""
    message = signal.request()
    if kind == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise OtlpError(400, MSG_PROTOBUF.format(reason=exc)) from exc
    else:
        try:
            document = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise OtlpError(400, MSG_JSON.format(reason="not UTF-8")) from exc
        except (ValueError, RecursionError) as exc:
            raise OtlpError(400, MSG_JSON.format(reason=exc)) from exc
        if not isinstance(document, dict):
            raise OtlpError(400, MSG_JSON.format(reason="not a JSON object"))
        try:
            json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
        except (json_format.ParseError, RecursionError, ValueError, binascii.Error) as exc:
            raise OtlpError(400, MSG_JSON.format(reason=exc)) from exc
    return message


def response_body(
    signal: Signal, kind: str, *, rejected: int = 0, message: str = ""
) -> tuple[bytes, str]:
    """The Export<Signal>ServiceResponse, encoded like the request: (body, content type)."""
    answer = signal.response()
    if rejected or message:
        partial = answer.partial_success
        setattr(partial, signal.rejected_field, rejected)
        partial.error_message = message
    return _encode(answer, kind)


def status_body(status: int, message: str, kind: str | None) -> tuple[bytes, str]:
    """A google.rpc.Status for an error answer, as the OTLP/HTTP spec wants it."""
    return _encode(
        status_pb2.Status(code=_GRPC_CODES.get(status, code_pb2.UNKNOWN), message=message),
        kind or JSON,
    )


def _encode(message: Message, kind: str) -> tuple[bytes, str]:
    if kind == PROTOBUF:
        return message.SerializeToString(), PROTOBUF
    return json_format.MessageToJson(message, indent=None).encode(), JSON


def check_limits(request: Message, signal: Signal) -> None:
    """OtlpError 400 when an item of the request carries more than MAX_ATTRIBUTES attributes,
    413 when the request carries more than MAX_ITEMS items: checked before anything is written."""
    items = 0

    def check(item: Any, where: str) -> None:
        nonlocal items
        if len(item.attributes) > MAX_ATTRIBUTES:
            raise OtlpError(400, MSG_ATTRIBUTES.format(where=where))
        if where.startswith(("a log record", "span ", "a data point")):
            items += 1
            if items > MAX_ITEMS:
                raise OtlpError(413, MSG_ITEMS)

    if signal is LOGS:
        for resource in request.resource_logs:
            check(resource.resource, "a resource")
            for scope in resource.scope_logs:
                check(scope.scope, "a scope")
                for record in scope.log_records:
                    check(record, "a log record")
    elif signal is TRACES:
        for resource in request.resource_spans:
            check(resource.resource, "a resource")
            for scope in resource.scope_spans:
                check(scope.scope, "a scope")
                for span in scope.spans:
                    check(span, f"span {span.name[:80]!r}")
                    for event in span.events:
                        check(event, "a span event")
                    for link in span.links:
                        check(link, "a span link")
    else:
        for resource in request.resource_metrics:
            check(resource.resource, "a resource")
            for scope in resource.scope_metrics:
                check(scope.scope, "a scope")
                for metric in scope.metrics:
                    for point in data_points(metric):
                        check(point, f"a data point of {metric.name[:80]!r}")


def data_points(metric: Any) -> list[Any]:
    """The data points of a metric, whatever its kind (gauge, sum, histogram, summary)."""
    kind = metric.WhichOneof("data")
    return list(getattr(metric, kind).data_points) if kind else []
