"""The write API: ``POST /api/records`` (token authenticated), and the OpenAPI document.

Thin views: HTTP in, ``records.recording.ingest.task_record`` (the validation and write path
every other entry point uses), HTTP out. Errors are always ``{"errors": {field: [messages]}}``.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from records.recording.ingest import (
    IDEMPOTENCY_KEY_RE,
    MAX_BODY_BYTES,
    MSG_IDEMPOTENCY_KEY,
    MSG_NOT_A_TASK,
    SOURCE_API,
    JsonInputError,
    idempotency_record_id,
    message_dict,
    parse_json,
    task_record,
)
from records.recording.openapi import openapi_document
from records.recording.retry import Transient, transient_kind
from records.recording.services import RecordIdTaken
from records.recording.tokens import TokenStatus, token_authenticate

logger = logging.getLogger(__name__)

DRAIN_LIMIT = 8 * MAX_BODY_BYTES  # read and drop up to this much of a refused body (see _drain)
CHUNK = 64 * 1024
REALM = 'Bearer realm="perfsite"'

MSG_METHOD = "Use POST to record a task."
MSG_TOKEN_MISSING = "Send an API token: 'Authorization: Bearer <token>'."
MSG_TOKEN_INVALID = "This API token is not valid."
MSG_TOKEN_REVOKED = "This API token has been revoked."
MSG_RECORD_ID_TAKEN = (
    "This record_id is already stored by another client (another API token, or not through the "
    "API); record ids belong to the token that stored them. Nothing was stored: send another "
    "record_id or Idempotency-Key."
)
MSG_LENGTH_REQUIRED = (
    "This server cannot read a chunked body: send the body with a Content-Length header."
)
MSG_TOO_LARGE = f"The body must be at most {MAX_BODY_BYTES} bytes (1 MiB)."
_RETRY = "retry with the same record_id or Idempotency-Key (a retry never stores a task twice)."
MSG_DATABASE = {
    Transient.BUSY: f"The database is busy: another write holds its lock; {_RETRY}",
    Transient.FULL: f"The database has no disk space left; nothing was stored, {_RETRY}",
    Transient.UNAVAILABLE: f"The database is unavailable (I/O or connection error); {_RETRY}",
}


class BodyTooLarge(Exception):
    pass


class LengthRequired(Exception):
    """A chunked body the server in front of Django does not decode (e.g. ``runserver``)."""


def _errors(status: int, errors: dict[str, list[str]], **headers: str) -> JsonResponse:
    response = JsonResponse({"errors": errors}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def _unauthorized(status: TokenStatus) -> JsonResponse:
    if status is TokenStatus.MISSING:
        return _errors(401, {"authorization": [MSG_TOKEN_MISSING]}, WWW_Authenticate=REALM)
    message = MSG_TOKEN_REVOKED if status is TokenStatus.REVOKED else MSG_TOKEN_INVALID
    challenge = f'{REALM}, error="invalid_token", error_description="{message}"'
    return _errors(401, {"authorization": [message]}, WWW_Authenticate=challenge)


def _drain(request: HttpRequest | BinaryIO, declared: int) -> None:
    """Read and drop a refused body of moderate size, in small chunks.

    A server that closes the connection with unread request bytes makes the kernel send a reset,
    and the client then sees "connection reset" instead of our 413. Bodies beyond DRAIN_LIMIT
    are not worth the bandwidth: those clients get the reset.
    """
    if declared > DRAIN_LIMIT:
        return
    while request.read(CHUNK):
        pass


def _chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _read_body(request: HttpRequest) -> bytes:
    """The body, at most MAX_BODY_BYTES: checked against Content-Length and against the read.

    A chunked body has no Content-Length, and Django's WSGI request then reads nothing. A server
    that decodes chunked input and ends the stream with it (gunicorn says so with
    ``wsgi.input_terminated``) is read directly; ASGI requests hold the whole body already.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        _drain(request, declared)
        raise BodyTooLarge
    stream = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        stream = request.META["wsgi.input"]
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        if stream is not request:
            _drain(stream, DRAIN_LIMIT)
        raise BodyTooLarge
    if not body and stream is request and _chunked(request):
        raise LengthRequired  # empty only because this server did not hand the chunks over
    return body


def _unavailable(kind: Transient) -> JsonResponse:
    return _errors(503, {"database": [MSG_DATABASE[kind]]}, Retry_After=str(kind.value))


@csrf_exempt  # token authenticated: a browser cannot send the Authorization header cross-site
def records_create(request: HttpRequest) -> JsonResponse:
    """POST /api/records: store one task; 201 with its record_id, 200 for a retry.

    A write that fails for a while (lock held past the wait, deadlock, disk full, I/O or
    connection error) answers 503 with Retry-After, never a 500: clients retry 503s.
    """
    if request.method != "POST":
        return _errors(405, {"method": [MSG_METHOD]}, Allow="POST")
    try:
        return _record(request)
    except (OperationalError, InterfaceError) as exc:
        kind = transient_kind(exc)
        if kind is None:
            raise
        logger.warning("POST /api/records: 503 (%s): %s", kind.name.lower(), exc)
        return _unavailable(kind)


def _record(request: HttpRequest) -> JsonResponse:
    """Authenticate, read, validate and store; database errors are records_create's to answer."""
    auth = token_authenticate(_bearer_token(request))
    if not auth.ok:
        return _unauthorized(auth.status)
    try:
        body = _read_body(request)
    except BodyTooLarge:
        return _errors(413, {"body": [MSG_TOO_LARGE]})
    except LengthRequired:
        return _errors(411, {"body": [MSG_LENGTH_REQUIRED]})
    try:
        task_data = parse_json(body)
    except JsonInputError as exc:
        return _errors(400, {"body": [str(exc)]})
    if not isinstance(task_data, dict):
        return _errors(400, {"body": [MSG_NOT_A_TASK]})
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(key):
        return _errors(400, {"Idempotency-Key": [MSG_IDEMPOTENCY_KEY]})
    try:
        record, created = task_record(
            task_data=task_data,
            source=SOURCE_API,
            record_id=idempotency_record_id(key=key, scope=str(auth.token.pk)) if key else None,
            token=auth.token,
        )
    except ValidationError as exc:
        return _errors(400, message_dict(exc))
    except RecordIdTaken:
        return _errors(409, {"record_id": [MSG_RECORD_ID_TAKEN]})
    return JsonResponse({"record_id": record.record_id}, status=201 if created else 200)


@csrf_exempt  # GET and HEAD only, never writes: other methods get 405, not a CSRF 403
@require_safe
def openapi_json(request: HttpRequest) -> JsonResponse:
    """GET /api/openapi.json: the OpenAPI 3.1 description of the JSON API."""
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
