"""The write API: ``POST /api/records`` (token authenticated), and the OpenAPI document.

Thin views: HTTP in, ``records.recording.ingest.task_record`` or, for a JSON list,
``tasks_record_each`` (the validation and write path every other entry point uses), HTTP out.
Errors are always ``{"errors": {field: [messages]}}``; a list's items each carry their own.
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
    MAX_BATCH,
    MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
    MSG_IDEMPOTENCY_KEY,
    MSG_NOT_TASKS,
    SOURCE_API,
    ItemResult,
    JsonInputError,
    batch_problem,
    idempotency_record_id,
    message_dict,
    parse_json,
    task_record,
    tasks_record_each,
)
from records.recording.openapi import openapi_document
from records.recording.retry import Transient, transient_kind
from records.recording.services import Outcome, RecordIdTaken
from records.recording.tokens import TokenStatus, token_authenticate

logger = logging.getLogger(__name__)

DRAIN_LIMIT = MAX_BATCH_BODY_BYTES  # read and drop up to this much of a refused body (see _drain)
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
MSG_TOO_LARGE = (
    f"The body must be at most {MAX_BODY_BYTES} bytes (1 MiB) for one task, "
    f"{MAX_BATCH_BODY_BYTES} bytes (8 MiB) for a list of tasks."
)
# The status each item of a list gets: what the same task sent alone would have been answered.
ITEM_STATUS = {Outcome.CREATED: 201, Outcome.STORED: 200, Outcome.TAKEN: 409}
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
    """The body, at most MAX_BATCH_BODY_BYTES: checked against Content-Length and against the
    read. Past MAX_BODY_BYTES only a JSON list is let through (``_is_list``).

    A chunked body has no Content-Length, and Django's WSGI request then reads nothing. A server
    that decodes chunked input and ends the stream with it (gunicorn says so with
    ``wsgi.input_terminated``) is read directly; ASGI requests hold the whole body already.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BATCH_BODY_BYTES:
        _drain(request, declared)
        raise BodyTooLarge
    stream = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        stream = request.META["wsgi.input"]
    body = stream.read(MAX_BATCH_BODY_BYTES + 1)
    if len(body) > MAX_BATCH_BODY_BYTES or (len(body) > MAX_BODY_BYTES and not _is_list(body)):
        if stream is not request:
            _drain(stream, DRAIN_LIMIT)
        raise BodyTooLarge
    if not body and stream is request and _chunked(request):
        raise LengthRequired  # empty only because this server did not hand the chunks over
    return body


def _is_list(body: bytes) -> bool:
    """Whether a body is (the start of) a JSON list: the first non-blank byte is ``[``."""
    start = body[:4096].lstrip(b" \t\r\n")
    return start[:1] == b"["


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
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(key):
        return _errors(400, {"Idempotency-Key": [MSG_IDEMPOTENCY_KEY]})
    if isinstance(task_data, list):
        return _record_list(task_data, token=auth.token, key=key)
    if not isinstance(task_data, dict):
        return _errors(400, {"body": [MSG_NOT_TASKS]})
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


def _record_list(tasks: list, *, token, key: str | None) -> JsonResponse:
    """A JSON list of tasks: 200 with one result per item, in order, each with the status the
    task alone would have got (201, 200, 400, 409); every valid item is stored, in one
    transaction. An empty list or one over MAX_BATCH is refused whole."""
    problem = batch_problem(tasks)
    if problem:
        return _errors(413 if len(tasks) > MAX_BATCH else 400, {"body": [problem]})
    results = tasks_record_each(tasks=tasks, source=SOURCE_API, token=token, key=key)
    items = [_item(result) for result in results]
    counts = {"created": 0, "stored": 0, "failed": 0}
    for item in items:
        status = item["status"]
        counts["created" if status == 201 else "stored" if status == 200 else "failed"] += 1
    return JsonResponse({**counts, "results": items}, status=200)


def _item(result: ItemResult) -> dict:
    if result.errors is not None:
        return {"index": result.index, "status": 400, "errors": result.errors}
    item = {"index": result.index, "status": ITEM_STATUS[result.outcome]}
    item["record_id"] = result.record_id
    if result.outcome is Outcome.TAKEN:
        item["errors"] = {"record_id": [MSG_RECORD_ID_TAKEN]}
    return item


@csrf_exempt  # GET and HEAD only, never writes: other methods get 405, not a CSRF 403
@require_safe
def openapi_json(request: HttpRequest) -> JsonResponse:
    """GET /api/openapi.json: the OpenAPI 3.1 description of the JSON API."""
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
