"""JSON Schema validation as OpenAPI means it: patterns are ECMA-262 regular expressions.

Python's ``re.search`` lets a closing ``$`` match before a final newline; ECMA-262 (and
schemathesis, which validates with an ECMA engine) does not. This validator reads a closing ``$``
as the end of the string, so ``"abc\\n"`` does not match ``^[a-z]+$`` here either. The document's
patterns use no ``\\s``, ``\\d`` or ``\\w`` (whose meanings differ), so that is the one difference.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern: str, instance: Any, schema: dict) -> Any:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


def validator_for(schema: dict[str, Any], components: dict[str, Any]) -> Draft202012Validator:
    """A validator for ``schema`` that resolves ``#/components/...`` in ``components``."""
    return EcmaValidator({**schema, "components": components}, format_checker=FormatChecker())
