"""OTLP attribute values (``AnyValue``) as plain Python values, without recursion."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 20  # arrays and key-value lists nested deeper are cut here (kept as None)


def any_value(value: Any, depth: int = 0) -> Any:
    """An ``AnyValue`` as str, bool, int, float, bytes (hex text), list or dict; unset: None."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        if depth >= MAX_DEPTH:
            return None
        return [any_value(item, depth + 1) for item in value.array_value.values]
    if kind == "kvlist_value":
        if depth >= MAX_DEPTH:
            return None
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(items: Any) -> dict[str, Any]:
    """Repeated ``KeyValue`` as a dict (a repeated key: the last one wins, as the SDKs do)."""
    return {kv.key: any_value(kv.value) for kv in items}


def as_int(value: Any) -> int | None:
    """Counts as Claude Code sends them: ints, or digits in a string ("69")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None
