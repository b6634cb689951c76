"""The read-only JSON API the old Flask dashboard offered, with its keys."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from dashboard.access import reader
from dashboard.legacy_json import old_recent_performance_records
from dashboard.legacy_json import recent_performance_records as legacy_recent
from records.rules.classification import CANONICAL_TYPES
from records.rules.names import MAX_NAME, normalise_model_name
from records.rules.periods import days_window
from records.stats.filters import RecordFilters
from records.stats.recommendations import DEFAULT_DAYS as RECOMMENDATION_DAYS
from records.stats.recommendations import recommendation
from records.stats.selectors import MAX_SUMMARY_DAYS, performance_summary, validate_days

DEFAULT_DAYS = 30
DIGITS_RE = re.compile(r"[0-9]{1,9}")
DAYS_ERROR = f"days must be a whole number from 1 to {MAX_SUMMARY_DAYS}"

# The same escapes as django.utils.html.json_script: "<script>" in a description cannot close
# a script element or start markup wherever a client pastes this JSON.
_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


class SafeJsonResponse(HttpResponse):
    def __init__(self, data: Any, *, status: int = 200) -> None:
        body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_ESCAPES)
        super().__init__(body, status=status, content_type="application/json")


def _days(raw: str | None, default: int = DEFAULT_DAYS) -> int:
    """``?days=``: ``default`` when absent; raise ValueError unless 1..MAX_SUMMARY_DAYS."""
    if raw is None:
        return default
    # "days=" (empty) is an error, not the default; ASCII digits only ("1_0" is not 10).
    if not DIGITS_RE.fullmatch(raw.strip()):
        raise ValueError(raw)
    return validate_days(int(raw.strip()))


def days_endpoint(
    answer: Callable[[int, QueryDict], Any] | None = None,
    *,
    default_days: int = DEFAULT_DAYS,
    without_days: Callable[[], Any] | None = None,
) -> Any:
    """A read-only JSON endpoint of ``?days=N`` (``default_days`` when absent):
    ``answer(days, query)`` as JSON, or 400 naming a bad parameter (``ParameterError`` from
    ``answer`` is keyed by its name); without ``days``, ``without_days()`` when given. GET and
    HEAD only, never writes, so CSRF-exempt (other methods get 405, not 403).
    ``@days_endpoint(default_days=90)`` sets another default."""
    if answer is None:
        return lambda function: days_endpoint(
            function, default_days=default_days, without_days=without_days
        )

    @csrf_exempt
    @require_safe
    @reader(json=True)
    @wraps(answer)
    def endpoint(request: HttpRequest) -> HttpResponse:
        raw = request.GET.get("days")
        if raw is None and without_days is not None:
            return SafeJsonResponse(without_days())
        try:
            days = _days(raw, default_days)
        except ValueError:
            error = f"{DAYS_ERROR}; got {raw[:40]!r}."
            return SafeJsonResponse({"errors": {"days": [error]}}, status=400)
        try:
            return SafeJsonResponse(answer(days, request.GET))
        except ParameterError as exc:
            return SafeJsonResponse({"errors": {exc.name: [exc.message]}}, status=400)

    return endpoint


class ParameterError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


PROJECT_ERROR = f"project must be a project's name, at most {MAX_NAME} characters"


def _project(query: QueryDict) -> str | None:
    """``?project=NAME`` (TaskRecord.project); absent or empty: every project."""
    value = query.get("project", "")
    if len(value) > MAX_NAME or "\x00" in value:
        raise ParameterError("project", f"{PROJECT_ERROR}; got {value[:40]!r}.")
    return value or None


def _old_recent() -> dict[str, Any]:
    return old_recent_performance_records(now=timezone.now())


def _recent(days: int, query: QueryDict) -> dict[str, Any]:
    """``GET /api/recent-performance-records?days=N``; without ``days``, the old tool's own
    response (the newest 50 of all records, its keys only: ``_old_recent``)."""
    return legacy_recent(days=days, now=timezone.now())


recent_performance_records = days_endpoint(_recent, without_days=_old_recent)


@days_endpoint
def summary(days: int, query: QueryDict) -> dict[str, Any]:
    """``GET /api/summary?days=N[&project=NAME]`` (default 30 days, every project):
    ``get_performance_summary(days, project)`` as JSON."""
    return performance_summary(days=days, project=_project(query))


TASK_TYPE_ERROR = "task_type must be one of: " + ", ".join(CANONICAL_TYPES)
MODEL_ERROR = f"model must be a model's name, at most {MAX_NAME} characters"


def _task_type(query: QueryDict) -> str:
    value = query.get("task_type", "").strip().lower()
    if value not in CANONICAL_TYPES:
        got = query.get("task_type")
        raise ParameterError(
            "task_type", f"{TASK_TYPE_ERROR}; got {'nothing' if not got else repr(got[:40])}."
        )
    return value


def _model(query: QueryDict) -> str | None:
    """``?model=NAME`` as stored (``claude-sonnet-4-5`` finds "Claude Sonnet 4.5")."""
    value = query.get("model", "").strip()
    if len(value) > MAX_NAME or "\x00" in value:
        raise ParameterError("model", f"{MODEL_ERROR}; got {value[:40]!r}.")
    return normalise_model_name(value) if value else None


@days_endpoint(default_days=RECOMMENDATION_DAYS)
def recommendations(days: int, query: QueryDict) -> dict[str, Any]:
    """``GET /api/recommendations?task_type=T[&project=P][&model=M][&days=N]`` (default 90
    days): what Perfsite advises for the next task of type T (records.stats.recommendations,
    docs/dashboard.md#recommendations)."""
    filters = RecordFilters(project=_project(query), model=_model(query))
    found = recommendation(
        task_type=_task_type(query), window=days_window(days, timezone.now()), filters=filters
    )
    return found.as_json()
