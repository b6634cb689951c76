"""The OpenAPI 3.1 document served at ``/api/openapi.json``.

The request body of ``POST /api/records`` is ``records.recording.json_schema.task_schema()``,
the one description of a task that tests check against ``clean_task_data``; limits come from the
modules that enforce them. ``tests/records/test_openapi.py`` validates the document
against the OpenAPI 3.1 schema and real responses against the document.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from records.recording.ingest import (
    IDEMPOTENCY_KEY_PATTERN,
    IDEMPOTENCY_PREFIX,
    MAX_BATCH,
    MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
    MAX_IDEMPOTENCY_KEY,
)
from records.recording.json_schema import JSON_VALUE_NO_NUL, task_schema
from records.stats.selectors import MAX_SUMMARY_DAYS, RECENT_RECORDS_LIMIT


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _errors(description: str, **extra: Any) -> dict[str, Any]:
    return _json(_ref("Errors"), description, **extra)


_DAYS = {
    "name": "days",
    "in": "query",
    "required": False,
    "description": f"The last N days, ending now (1 to {MAX_SUMMARY_DAYS}; default 30).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SUMMARY_DAYS, "default": 30},
}
_RECENT_DAYS = _DAYS | {
    "description": f"The last N days, ending now (1 to {MAX_SUMMARY_DAYS}). Without it: the "
    "old dashboard's own response, exactly (the newest records of all time, its keys only; "
    "docs/migrating.md).",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SUMMARY_DAYS},
}
_LOGIN_REQUIRED = _errors("PERFSITE_REQUIRE_LOGIN is on and the request has no signed-in session.")

_GROUP = {
    "type": "object",
    "required": ["count", "avg_score"],
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "avg_score": {"type": ["number", "null"], "description": "Mean quality_score."},
    },
}
_BEST = {
    "type": "object",
    "required": ["name", "count", "avg_score"],
    "properties": {
        "name": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "avg_score": {"type": ["number", "null"]},
    },
}

_FIELD_ERRORS = {
    "type": "object",
    "minProperties": 1,
    "description": "Messages by field (a task_data key, or body, authorization, "
    "Idempotency-Key, task_data for the payload as a whole, days, …).",
    "additionalProperties": {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Task": task_schema(),
    "JsonValue": JSON_VALUE_NO_NUL,
    "RecordId": {
        "type": "object",
        "required": ["record_id"],
        "properties": {
            "record_id": {
                "type": "string",
                "description": "The record's id: in /records/<record_id>/ and every API.",
            }
        },
        "additionalProperties": False,
    },
    "Tasks": {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_BATCH,
        "items": _ref("Task"),
        "description": f"1 to {MAX_BATCH:,} tasks, stored per item: every valid task is stored "
        "(all in one transaction), each invalid one is answered with its errors.",
    },
    "BatchResult": {
        "type": "object",
        "required": ["created", "stored", "failed", "results"],
        "properties": {
            "created": {"type": "integer", "minimum": 0, "description": "Items answered 201."},
            "stored": {"type": "integer", "minimum": 0, "description": "Items answered 200."},
            "failed": {"type": "integer", "minimum": 0, "description": "Items answered 400/409."},
            "results": {
                "type": "array",
                "description": "One per item, in the list's order.",
                "items": {
                    "type": "object",
                    "required": ["index", "status"],
                    "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "status": {
                            "enum": [201, 200, 400, 409],
                            "description": "What the task alone would have been answered: 201 "
                            "stored, 200 already stored (a retry), 400 invalid (nothing "
                            "stored), 409 its record_id is another token's (nothing stored).",
                        },
                        "record_id": {"type": "string"},
                        "errors": _FIELD_ERRORS,
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
    "Errors": {
        "type": "object",
        "required": ["errors"],
        "properties": {"errors": _FIELD_ERRORS},
    },
    "Summary": {
        "type": "object",
        "description": "records.recorder.get_performance_summary(days) as JSON.",
        "required": [
            "period_days",
            "total_tasks",
            "avg_score",
            "success_rate",
            "task_types",
            "models_used",
            "period_start",
            "period_end",
            "insights",
        ],
        "properties": {
            "period_days": {"type": "integer", "minimum": 1},
            "total_tasks": {"type": "integer", "minimum": 0},
            "avg_score": {"type": "number", "description": "Mean quality_score; 0 if none."},
            "success_rate": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "Percentage of tasks whose success is true.",
            },
            "task_types": {
                "type": "object",
                "description": "By canonical task type.",
                "additionalProperties": _GROUP,
            },
            "models_used": {
                "type": "object",
                "description": "By normalised model name.",
                "additionalProperties": _GROUP,
            },
            "period_start": {"type": "string", "format": "date-time"},
            "period_end": {"type": "string", "format": "date-time"},
            "insights": {
                "type": "object",
                "description": "Per task type: the best model, skills and agents by mean quality "
                "over the period, with counts so that thin evidence shows.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["best_model", "best_skills", "best_agents"],
                    "properties": {
                        "best_model": {"anyOf": [{"type": "null"}, _BEST]},
                        "best_skills": {"type": "array", "items": _BEST},
                        "best_agents": {"type": "array", "items": _BEST},
                    },
                },
            },
        },
    },
    "RecentPerformanceRecords": {
        "type": "object",
        "description": "The old dashboard's /api/recent-performance-records, with its keys.",
        "required": [
            "records",
            "total_records",
            "showing_records",
            "task_type_stats",
            "auto_generated_count",
            "manual_assessment_count",
            "last_updated",
        ],
        "properties": {
            "records": {
                "type": "array",
                "maxItems": RECENT_RECORDS_LIMIT,
                "description": f"The newest records (at most {RECENT_RECORDS_LIMIT}), newest "
                "first, in the old tool's shape.",
                "items": {
                    "type": "object",
                    "properties": {
                        "record_id": {"type": "string"},
                        "assessment_id": {"type": "string"},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "task_type": {"type": "string"},
                        "overall_score": {"type": "number"},
                        "quality_score": {"type": "number"},
                        "performance_index": {"type": "number"},
                        "time_efficiency": {"type": ["number", "null"]},
                        "quality_improvement": {"type": ["number", "null"]},
                        "model_used": {"type": "string"},
                        "auto_generated": {"type": "boolean"},
                        "success": {"type": "boolean"},
                    },
                },
            },
            "total_records": {
                "type": "integer",
                "minimum": 0,
                "description": "All records in those days (without days: all records).",
            },
            "showing_records": {"type": "integer", "minimum": 0, "maximum": RECENT_RECORDS_LIMIT},
            "task_type_stats": {
                "type": "object",
                "description": "By task type (canonical with days; as the source wrote it "
                "without): count, averages and rates.",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"count": {"type": "integer", "minimum": 0}},
                },
            },
            "auto_generated_count": {"type": "integer", "minimum": 0},
            "manual_assessment_count": {"type": "integer", "minimum": 0},
            "last_updated": {"type": "string", "format": "date-time"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/records": {
        "post": {
            "operationId": "recordTask",
            "summary": "Record one finished task, or a list of up to 1,000",
            "description": (
                "Validated exactly like records.recorder.record_task_performance (one "
                "implementation); stored with source `api`. Safe to retry: send the same "
                "`record_id` in the body, or the same `Idempotency-Key` header, and a task already "
                "stored is answered 200 with its record_id instead of being stored twice. Record "
                "ids belong to the token that stored them: a record_id (or Idempotency-Key) whose "
                "record another token, or another way in (Python, command line, import), stored "
                "is answered 409 and nothing is stored; body record_ids must not start with "
                f"`{IDEMPOTENCY_PREFIX}` (the ids made from Idempotency-Key headers). Bodies over "
                f"{MAX_BODY_BYTES} bytes (1 MiB) are refused with 413; a chunked body is read like "
                "one with a Content-Length. Retry 503 answers (after Retry-After seconds) and "
                "connection errors, with the same record_id or key; no other status.\n\n"
                f"A JSON list of 1 to {MAX_BATCH:,} tasks (body up to {MAX_BATCH_BODY_BYTES} "
                "bytes, 8 MiB) is stored per item: every valid task is stored, all in one "
                "transaction, and the answer is 200 with one result per item, in order, each "
                "with the status the task alone would have got (201, 200, 400 with its errors, "
                "409). Each item is idempotent on its own: its record_id, else, with an "
                "Idempotency-Key header, an id made from the key and the item's index, so the "
                "same list sent again with the same key stores nothing twice. A list over "
                f"{MAX_BATCH:,} tasks is refused whole with 413, an empty one with 400; a 503 "
                "means nothing of the list was stored."
            ),
            "security": [{"bearerAuth": []}],
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A key of yours for this task (e.g. a UUID), the same on "
                    "every retry. Used when the body has no record_id: the task's record_id is "
                    "derived from it (and your token), so a retry finds the first record, and "
                    "no other token can claim that id. A record_id in the body wins. For a "
                    "list: the key of the whole list; each item without a record_id gets an id "
                    "made from the key and its index.",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_IDEMPOTENCY_KEY,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"oneOf": [_ref("Task"), _ref("Tasks")]},
                        "example": {
                            "task_type": "refactoring",
                            "description": "Improve authentication module",
                            "duration": 180,
                            "success": True,
                            "skills_used": ["code-analysis"],
                            "model_used": "Claude Sonnet 4.5",
                        },
                    }
                },
            },
            "responses": {
                "201": _json(_ref("RecordId"), "Stored: the new record's id."),
                "200": _json(
                    {"oneOf": [_ref("RecordId"), _ref("BatchResult")]},
                    "One task: already stored (a retry with the same record_id or "
                    "Idempotency-Key): the first record's id; nothing new was stored. A list: "
                    "one result per item (BatchResult).",
                ),
                "400": _errors(
                    "Invalid: malformed JSON, a body that is neither an object nor a list, or "
                    "an empty list (key `body`), an invalid Idempotency-Key, or invalid task "
                    "fields, each named with its messages. Nothing was stored."
                ),
                "401": _errors(
                    "No token, a wrong one, or a revoked one (key `authorization`).",
                    headers={
                        "WWW-Authenticate": {
                            "description": "Bearer challenge (RFC 6750).",
                            "schema": {"type": "string"},
                        }
                    },
                ),
                "409": _errors(
                    "The record_id (from the body or the Idempotency-Key) is stored already, by "
                    "another token or not through the API (key `record_id`). Nothing was stored; "
                    "do not retry with the same id."
                ),
                "411": _errors(
                    "A chunked body that this server cannot read (e.g. the development server): "
                    "send a Content-Length (key `body`)."
                ),
                "413": _errors(
                    f"The body is over {MAX_BODY_BYTES} bytes (one task) or "
                    f"{MAX_BATCH_BODY_BYTES} bytes (a list), or the list holds more than "
                    f"{MAX_BATCH:,} tasks (key `body`). Nothing was stored."
                ),
                "503": _errors(
                    "The write failed for a while, not for good (key `database` says why): a "
                    "lock held past the wait, a deadlock, a full disk, an I/O or connection "
                    "error. Retry after Retry-After seconds with the same record_id or "
                    "Idempotency-Key; the answer comes within about 35 seconds.",
                    headers={"Retry-After": {"schema": {"type": "integer", "minimum": 0}}},
                ),
            },
        }
    },
    "/api/summary": {
        "get": {
            "operationId": "performanceSummary",
            "summary": "Performance summary of the last N days",
            "parameters": [_DAYS],
            "responses": {
                "200": _json(_ref("Summary"), "get_performance_summary(days) as JSON."),
                "400": _errors("days is not a whole number in range (key `days`)."),
                "401": _LOGIN_REQUIRED,
            },
        }
    },
    "/api/recent-performance-records": {
        "get": {
            "operationId": "recentPerformanceRecords",
            "summary": "The newest records (of the last N days, or of all), in the old "
            "dashboard's shape",
            "parameters": [_RECENT_DAYS],
            "responses": {
                "200": _json(_ref("RecentPerformanceRecords"), "Records and counts."),
                "400": _errors("days is not a whole number in range (key `days`)."),
                "401": _LOGIN_REQUIRED,
            },
        }
    },
}


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Perfsite API",
            "version": "1.0.0",
            "description": (
                "Record the tasks your AI coding agents finish, and read the performance "
                "summaries. Create a token with `python manage.py create_api_token NAME` and "
                "send it as `Authorization: Bearer <token>`."
            ),
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `manage.py create_api_token NAME`; revoke it "
                    "in the admin (API tokens).",
                }
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())
