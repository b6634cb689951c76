"""Every task_data key that ``clean_task`` reads in strict mode, as JSON Schema.

The OpenAPI document's request body is built from ``TASK_FIELDS``; bounds and patterns come from
the constants in ``records.recording.schema``. ``tests/records/test_task_fields.py`` keeps the two
honest: the keys clean_task reads are exactly these, and for every field a pool of values
(wrong types, each bound and one past it, padded text, NUL, …) is accepted by this schema exactly
when clean_task accepts it. ``null`` always means "not given".
"""

from __future__ import annotations

from typing import Any

from records.recording.schema import (
    MAX_ADVICE,
    MAX_BREAKDOWN,
    MAX_COMPLEXITY,
    MAX_COST,
    MAX_COUNT,
    MAX_DURATION,
    MAX_ITEM_TEXT,
    MAX_LABEL,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_RECORD_ID,
    MAX_TEXT,
    MAX_YEAR,
    MIN_YEAR,
    RECORD_ID_FORBIDDEN,
    TIMESTAMP_PATTERN,
)

# Patterns are written so that ECMA-262 (what OpenAPI means, and what schemathesis validates with)
# and Python `re` read them alike: no \s, \d or \w, whose meanings differ between the two.
# WHITESPACE is exactly what Python's str.isspace() and str.strip() treat as whitespace (tested).
WHITESPACE = (
    "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = f"[^{WHITESPACE}]"
RECORD_ID_PATTERN = f"^[^{WHITESPACE}\\u0000{RECORD_ID_FORBIDDEN}]+$"
FLOAT_MAX = 1.7976931348623157e308  # "any finite number": JSON numbers beyond this are Infinity


def _case_insensitive(word: str) -> str:
    return "".join(f"[{ch.upper()}{ch.lower()}]" for ch in word)


_WORDS = "|".join(_case_insensitive(w) for w in ("simple", "medium", "complex"))
COMPLEXITY_PATTERN = f"^[{WHITESPACE}]*(?:{_WORDS})?[{WHITESPACE}]*$"


def _text(max_length: int, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": ["string", "null"],
        "maxLength": max_length,
        "pattern": NO_NUL,
        "description": description,
        **extra,
    }


def _number(description: str, minimum: float = -FLOAT_MAX, maximum: float = FLOAT_MAX, **extra):
    return {
        "type": ["number", "null"],
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
        **extra,
    }


def _count(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": MAX_COUNT,
        "description": description,
        **extra,
    }


def _flag(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": ["boolean", "null"], "description": description, **extra}


def _strings(item_max: int, description: str, **extra: Any) -> dict[str, Any]:
    item = {"type": "string", "maxLength": item_max, "pattern": NO_NUL}
    return {
        "description": description + " One string is read as a list of one; blank items drop.",
        "anyOf": [
            {"type": "null"},
            item,
            {"type": "array", "maxItems": MAX_LIST_ITEMS, "items": item},
        ],
        **extra,
    }


def _alias_of(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schema, description=f"Alias of `{name}` (which wins when both are given).")


_complexity = _text(
    MAX_COMPLEXITY,
    "simple, medium or complex (any case, surrounding spaces ignored); empty means not given.",
    pattern=COMPLEXITY_PATTERN,
    examples=["medium"],
)
_model = _text(
    MAX_LABEL,
    "The model that ran the task, e.g. claude-sonnet-4-5 (stored normalised as "
    "'Claude Sonnet 4.5'). Missing: PERFSITE_MODEL / ANTHROPIC_MODEL on the server, else "
    "'Unknown'.",
    examples=["Claude Sonnet 4.5"],
)
_duration = _number(
    f"Seconds the task took, 0 to {MAX_DURATION} (a year). Drives time_efficiency.",
    minimum=0,
    maximum=MAX_DURATION,
    examples=[180],
)
_skills = _strings(MAX_LABEL, "Skills loaded for the task.", examples=[["code-analysis"]])
_agents = _strings(MAX_LABEL, "Agents the task was delegated to.", examples=[["test-engineer"]])

_breakdown = {
    "type": ["object", "null"],
    "description": "The source's own score breakdown (part name -> points), kept as given and "
    "shown on the record page beside the formula's components.",
    "maxProperties": MAX_BREAKDOWN,
    "propertyNames": {"minLength": 1, "maxLength": MAX_LABEL, "pattern": NO_NUL},
    "additionalProperties": {"type": "number", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX},
    "examples": [{"web_dashboard": 24, "cli_interface": 22}],
}

TASK_FIELDS: dict[str, dict[str, Any]] = {
    "task_type": _text(
        MAX_LABEL,
        "The kind of task as the agent names it (refactoring, bug_fix, …); classified into one "
        "of the canonical types, the raw label kept. task_type or description must have text.",
        examples=["refactoring"],
    ),
    "description": _text(
        MAX_TEXT,
        "What the task was; also used to classify it when task_type is missing or unknown.",
        examples=["Improve authentication module"],
    ),
    "complexity": _complexity,
    "task_complexity": _alias_of("complexity", _complexity),
    "model_used": _model,
    "model": _alias_of("model_used", _model),
    "duration": _duration,
    "duration_seconds": _alias_of("duration", _duration),
    "success": _flag("Whether the task succeeded; default true.", examples=[True]),
    "best_practices_followed": _flag("Default true; scores best_practices 100 (else 50)."),
    "documentation_updated": _flag("Default false; scores documentation 100 (else 50)."),
    "auto_generated": _flag(
        "Recorded automatically (true, the default: the AUTO badge) or a manual assessment."
    ),
    "skills_used": _skills,
    "skills": _alias_of("skills_used", _skills),
    "agents_delegated": _agents,
    "agents": _alias_of("agents_delegated", _agents),
    "files_modified": _count("Number of files changed.", examples=[3]),
    "lines_changed": _count("Number of lines changed.", examples=[150]),
    "quality_improvement": _number(
        "Points gained over the baseline, -100 to 100; default: quality_score minus the mean "
        "of the previous 10 records of the same type.",
        minimum=-100,
        maximum=100,
    ),
    "issues_found": {
        "description": "Issues found: a list of strings (or one string), or just their count. "
        "Each issue costs 5 points of code_quality (floor 50) unless code_quality is given.",
        "anyOf": [
            {"type": "null"},
            {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
            {"type": "string", "maxLength": MAX_ITEM_TEXT, "pattern": NO_NUL},
            {
                "type": "array",
                "maxItems": MAX_LIST_ITEMS,
                "items": {"type": "string", "maxLength": MAX_ITEM_TEXT, "pattern": NO_NUL},
            },
        ],
        "examples": [["Missing type hints"]],
    },
    "recommendations": _strings(MAX_ITEM_TEXT, "Recommendations made."),
    "code_quality": _number(
        "Code quality if assessed; replaces the issue rule. Points 0-100 (clamped); a number "
        "with a fraction part in [0, 1] is a fraction (0.85 is 85 points, 1 is one point)."
    ),
    "quality_score": _number(
        "A manual assessment: used instead of the formula. Points 0-100 (clamped); a number "
        "with a fraction part in [0, 1] is a fraction (0.85 is 85 points, 1 is one point)."
    ),
    "overall_score": _alias_of("quality_score", _number("")),
    "performance_index": _number(
        "The performance index if the source computed it: kept as given (points 0-100, "
        "clamped; fraction rule as quality_score). Default: the scoring contract's formula."
    ),
    "time_efficiency": _number(
        "The time efficiency if the source computed it: kept as given (points 0-100, clamped; "
        "fraction rule as quality_score). Default: derived from the duration."
    ),
    "breakdown": _breakdown,
    "score_breakdown": _alias_of("breakdown", _breakdown),
    "session_id": _text(MAX_LABEL, "The agent session the task belongs to (e.g. Claude Code's)."),
    "project": _text(MAX_NAME, "The project (repository or folder name) the agent worked in."),
    "git_branch": _text(MAX_LABEL, "The git branch checked out while the task ran."),
    "advice": _text(
        MAX_ADVICE,
        "The advice Perfsite gave the agent before the task (GET /api/recommendations), as "
        "the agent's plugin summarised it; absent or empty: none was given.",
    ),
    "input_tokens": _count(
        "Input tokens not read from or written to the prompt cache (as Anthropic counts them)."
    ),
    "output_tokens": _count("Output tokens."),
    "cache_read_tokens": _count("Input tokens read from the prompt cache."),
    "cache_creation_tokens": _count("Input tokens written to the prompt cache."),
    "cost_usd": _number(
        f"What the task cost in US dollars, 0 to {MAX_COST:g}. Default: computed from the tokens "
        "and the model with the genai-prices database (empty for a model it does not know).",
        minimum=0,
        maximum=MAX_COST,
    ),
    "recorded_at": {
        "type": ["string", "null"],
        "pattern": TIMESTAMP_PATTERN,
        "description": f"When the task finished: ISO 8601 / RFC 3339, years {MIN_YEAR}-"
        f"{MAX_YEAR}, e.g. 2025-10-21T11:28:00Z. Time, seconds and offset may be left out (no "
        "offset means UTC). Default: when the server receives it.",
        "examples": ["2025-10-21T11:28:00Z"],
    },
    "record_id": {
        "type": ["string", "null"],
        "maxLength": MAX_RECORD_ID,
        "pattern": RECORD_ID_PATTERN,
        "description": "Your id for the task (no whitespace, '/', '?' or '#'). Sending a "
        "record_id that is already stored returns that record (200) and stores nothing: retry "
        "safely. Default: a new unique id.",
        "examples": ["ci-build-4711-task-3"],
    },
}

# One of these must hold text: {"task_type": "  "} alone is not a task.
TASK_NEEDS_TEXT_IN = ("task_type", "description")

JSON_VALUE_NO_NUL = {
    "description": "Any JSON value; text (keys too) without NUL characters.",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
}


def task_schema() -> dict[str, Any]:
    """The JSON Schema of one task, as POST /api/records takes it."""
    return {
        "type": "object",
        "description": "One finished task: the keys of record_task_performance's task_data. "
        "Other keys are kept verbatim in the record's raw payload.",
        "properties": TASK_FIELDS,
        "anyOf": [
            {"required": [name], "properties": {name: {"type": "string", "pattern": NOT_BLANK}}}
            for name in TASK_NEEDS_TEXT_IN
        ],
        "propertyNames": {"pattern": NO_NUL},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    }
