"""``POST /v1/logs``, ``/v1/traces``, ``/v1/metrics``: OTLP/HTTP, authenticated by API token.

Thin: check the request (method, content type, encoding, token, size), decode, hand the export
request to ``writes``, answer as the OTLP/HTTP specification says
(https://opentelemetry.io/docs/specs/otlp/#otlphttp-response): 200 with the signal's
Export…ServiceResponse (its partial success counting what was rejected), else a google.rpc.Status;
400 undecodable, 401, 413, 415, and 503 with Retry-After when the database cannot take the write
for a while (the same errors ``POST /api/records`` answers 503).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from records.recording.api import (
    DRAIN_LIMIT,
    MSG_DATABASE,
    MSG_TOKEN_INVALID,
    MSG_TOKEN_MISSING,
    MSG_TOKEN_REVOKED,
    REALM,
    _bearer_token,
)
from records.recording.otlp import decoding, writes
from records.recording.otlp.decoding import LOGS, METRICS, TRACES, OtlpError, Signal
from records.recording.retry import transient_kind
from records.recording.tokens import TokenStatus, token_authenticate

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MSG_METHOD = "Use POST to export telemetry (OTLP/HTTP)."
_INGEST: dict[str, Callable] = {
    "logs": writes.ingest_logs,
    "traces": writes.ingest_traces,
    "metrics": writes.ingest_metrics,
}


def _answer(body: bytes, content_type: str, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _error(exc: OtlpError, kind: str | None) -> HttpResponse:
    body, content_type = decoding.status_body(exc.status, exc.message, kind)
    return _answer(body, content_type, exc.status, **exc.headers)


def _read(request: HttpRequest) -> bytes:
    """The body as sent, at most MAX_BODY_BYTES: refused on its Content-Length before reading,
    and read no further than one byte past the limit when it has none (chunked)."""
    limit = decoding.MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        if declared <= DRAIN_LIMIT:  # read and drop, so the client sees the 413, not a reset
            while request.read(CHUNK):
                pass
        raise OtlpError(413, decoding.MSG_TOO_LARGE)
    stream = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        stream = request.META["wsgi.input"]
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise OtlpError(413, decoding.MSG_TOO_LARGE)
    return body


def _export(request: HttpRequest, signal: Signal) -> HttpResponse:
    kind = decoding.media_type(request.META.get("CONTENT_TYPE"))
    try:
        if request.method != "POST":
            raise OtlpError(405, MSG_METHOD, Allow="POST")
        if kind is None:
            raise OtlpError(415, decoding.MSG_CONTENT_TYPE)
        gzipped = decoding.check_encoding(request.headers.get("Content-Encoding"))
        auth = token_authenticate(_bearer_token(request))
        if not auth.ok:
            message = {
                TokenStatus.MISSING: MSG_TOKEN_MISSING,
                TokenStatus.INVALID: MSG_TOKEN_INVALID,
                TokenStatus.REVOKED: MSG_TOKEN_REVOKED,
            }[auth.status]
            raise OtlpError(401, message, WWW_Authenticate=REALM)
        body = _read(request)
        if gzipped:
            body = decoding.gunzip(body)
        elif len(body) > decoding.MAX_DECODED_BYTES:
            raise OtlpError(413, decoding.MSG_TOO_LARGE)
        export = decoding.decode(signal, body, kind)
        decoding.check_limits(export, signal)
        outcome = _INGEST[signal.name](export, token=auth.token)
        writes.log_outcome(outcome, token=auth.token)
    except OtlpError as exc:
        return _error(exc, kind)
    except (OperationalError, InterfaceError) as exc:
        transient = transient_kind(exc)
        if transient is None:
            raise
        logger.warning("POST /v1/%s: 503 (%s): %s", signal.name, transient.name.lower(), exc)
        error = OtlpError(503, MSG_DATABASE[transient], Retry_After=str(transient.value))
        return _error(error, kind)
    body, content_type = decoding.response_body(
        signal, kind, rejected=outcome.rejected, message=outcome.message()
    )
    return _answer(body, content_type)


@csrf_exempt  # token authenticated, like POST /api/records
def export_logs(request: HttpRequest) -> HttpResponse:
    return _export(request, LOGS)


@csrf_exempt
def export_traces(request: HttpRequest) -> HttpResponse:
    return _export(request, TRACES)


@csrf_exempt
def export_metrics(request: HttpRequest) -> HttpResponse:
    return _export(request, METRICS)
