"""The published task schema and clean_task_data accept exactly the same inputs.

The OpenAPI request schema is built from records.recording.json_schema; the server validates with
records.recording.schema. Each test here would fail if one drifted from the other: a key read but
not documented (or documented but never read), or a value one side accepts and the other refuses.
Values are generated from the schema itself (every bound and one past it, lengths with padding,
NUL, wrong types) plus the hard cases of each field. (Lone surrogates, which JSON can only carry as
\\u escapes, are refused by the server and not expressible in a portable pattern: not tested.)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from records.recording.ingest import task_validate
from records.recording.json_schema import TASK_FIELDS, TASK_NEEDS_TEXT_IN, WHITESPACE
from records.recording.openapi import openapi_document
from records.recording.schema import clean_task_data
from tests.support.schema import validator_for

DOCUMENT = openapi_document()
VALIDATOR = validator_for({"$ref": "#/components/schemas/Task"}, DOCUMENT["components"])
# Whitespace on which Python and ECMA-262 disagree (\\s), a newline where `$` could be fooled.
TRICKY_TEXT = ["\x1e", "\x85", "\ufeff", "\u200b", "x\n", "\nx", "x\x1c", "x\ufeff"]

GENERIC_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 0.5, -0.5, 3.0, 2**31, 10**400, 1e308, -1e308,
    "", " ", "x", "0", "12", "1e3", "\x00", "a\x00b", *TRICKY_TEXT,
    [], ["a"], ["a", "b"], [" "], [1], [None], [["a"]], ["a\x00"], {}, {"a": 1},
]  # fmt: skip

SPECIAL_VALUES: dict[str, list[Any]] = {
    "task_type": ["coding", "bug_fix", " \t", "\u3000", "x\u200b"],
    "complexity": [
        "simple", "SIMPLE", " Medium ", "complex\t", "huge", "simplex", "s imple", "", "simple\n",
        "\x1csimple\x85", "\ufeffsimple", "\u3000medium\u2029",
    ],
    "model_used": ["claude-sonnet-4-5", "GLM-4.6", "  "],
    "record_id": [
        "abc", "ci-42_a.b~", " abc", "abc ", "a b", "a/b", "a?b", "a#b", "a\u3000b", "a\u200bb",
        "é-ü", "a\nb", "%2F", "abc\n", "abc\x1e", "abc\x85", "abc\ufeff",
    ],
    "issues_found": [0, 3, 3.5, -2, "one issue", ["a", " "], [1, 2]],
    "success": ["true", 1, 0],
}  # fmt: skip
SPECIAL_VALUES["task_complexity"] = SPECIAL_VALUES["complexity"]
SPECIAL_VALUES["model"] = SPECIAL_VALUES["model_used"]

DATES = [
    "2025-10-21", "2000-01-01", "2100-12-31", "1999-12-31", "2101-01-01", "2024-02-29",
    "2025-02-29", "2000-02-29", "2100-02-29", "2025-04-31", "2025-04-30", "2025-12-31",
    "2025-13-01", "2025-00-10", "2025-1-5", "\u0662\u0660\u0662\u0665-10-21",
]  # fmt: skip
TIMES = [
    "T11:28", "T11:28:00", "T00:00:00.5", "T23:59:59.123456", "T11:28:00.1234567", " 11:28:00",
    "t11:28:00", "T24:00:00", "T23:59:60", "T11", "x11:28:00", "T11:28:00,5",
]  # fmt: skip
OFFSETS = ["", "Z", "z", "+02:00", "-23:59", "+24:00", "+0200", "+02", "+00:00Z", " Z"]
TIMESTAMPS = DATES + [d + t + o for d, t, o in itertools.product(DATES, TIMES, OFFSETS)]
TIMESTAMPS += [" 2025-10-21T11:28:00Z", "2025-10-21T11:28:00Z ", "20251021T112800Z", "2025-W43-2"]
TIMESTAMPS += ["2025-10-21T11:28:00Z\n", "2025-10-21\n"]
SPECIAL_VALUES["recorded_at"] = [*TIMESTAMPS, 1761046080, 1761046080.5]


def _branches(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield schema
    for branch in schema.get("anyOf", []):
        yield from _branches(branch)
    if "items" in schema:
        yield from _branches(schema["items"])


def values_from_schema(schema: dict[str, Any]) -> Iterator[Any]:
    """Each bound and one step past it, in every branch of a field's schema."""
    for part in _branches(schema):
        for bound in (part.get("minimum"), part.get("maximum")):
            if bound is not None:
                yield from (bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5)
        if (n := part.get("maxLength")) is not None:
            texts = ["x" * n, "x" * (n + 1), " " + "x" * (n - 1), " " + "x" * n, "\x00" * n]
            yield from texts
            yield from ([t] for t in texts)
        if (n := part.get("maxItems")) is not None:
            yield from (["x"] * n, ["x"] * (n + 1), [" "] * (n + 1))
        yield from part.get("examples", [])


def schema_accepts(body: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(body)


def server_accepts(body: dict[str, Any]) -> bool:
    try:
        task_validate(body)
    except ValidationError:
        return False
    return True


def assert_agree(bodies: list[dict[str, Any]]) -> None:
    disagreements = [
        (body, schema_accepts(body), server_accepts(body))
        for body in bodies
        if schema_accepts(body) != server_accepts(body)
    ]
    assert not disagreements, "(body, schema accepts, server accepts): " + repr(disagreements[:5])
    assert any(server_accepts(b) for b in bodies) and not all(server_accepts(b) for b in bodies)


class KeyRecorder(dict):
    """A task_data that notes every key it is asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def test_the_schema_documents_exactly_the_keys_clean_task_data_reads():
    data = KeyRecorder()
    with pytest.raises(ValidationError):
        clean_task_data(data)
    assert data.asked == set(TASK_FIELDS)


@pytest.mark.parametrize("name", sorted(TASK_FIELDS))
def test_schema_and_validation_agree_on_every_value_of(name):
    other = "description" if name == "task_type" else "task_type"
    schema = TASK_FIELDS[name]
    values = [*GENERIC_VALUES, *values_from_schema(schema), *SPECIAL_VALUES.get(name, [])]
    assert_agree([{other: "coding", name: value} for value in values])


def test_the_schema_whitespace_is_pythons_whitespace():
    pattern = re.compile(f"[{WHITESPACE}]")
    assert [c for c in range(0x110000) if bool(pattern.match(chr(c))) != chr(c).isspace()] == []


def test_schema_and_validation_agree_that_a_task_needs_a_type_or_a_description():
    texts = [None, "", " ", "\t\n", "\u3000", "\x1e", "\ufeff", "x", " x "]
    bodies = [{}] + [
        {key: value for key, value in zip(TASK_NEEDS_TEXT_IN, pair, strict=True)}
        for pair in itertools.product(texts, repeat=2)
    ]
    assert_agree(bodies)


def test_schema_and_validation_agree_on_keys_of_their_own():
    values = [
        "x", "\x00", "a\x00b", 1, 1.5, None, True, [], ["a\x00"], {"k\x00": 1},
        {"k": {"deeper": ["ok", "no\x00"]}}, {"k": {"deeper": ["ok", 1, None]}},
    ]  # fmt: skip
    bodies = [{"task_type": "coding", "session": value} for value in values]
    bodies.append({"task_type": "coding", "key\x00": 1})
    assert_agree(bodies)


def test_every_field_has_a_description_and_allows_null_as_not_given():
    for name, schema in TASK_FIELDS.items():
        body = {"description": "Fix the login bug", name: None}
        if name == "description":
            body = {"task_type": "debugging", name: None}
        assert schema.get("description"), name
        assert schema_accepts(body), name
        assert server_accepts(body), name
