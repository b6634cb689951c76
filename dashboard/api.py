"""The read-only JSON API the old Flask dashboard offered, with its keys."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from dashboard.access import reader
from dashboard.legacy_json import old_recent_performance_records
from dashboard.legacy_json import recent_performance_records as legacy_recent
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


def _days(raw: str | None) -> int:
    """``?days=``: DEFAULT_DAYS when absent; raise ValueError unless 1..MAX_SUMMARY_DAYS."""
    if raw is None:
        return DEFAULT_DAYS
    # "days=" (empty) is an error, not the default; ASCII digits only ("1_0" is not 10).
    if not DIGITS_RE.fullmatch(raw.strip()):
        raise ValueError(raw)
    return validate_days(int(raw.strip()))


def days_endpoint(
    answer: Callable[[int], Any], *, without_days: Callable[[], Any] | None = None
) -> Callable[[HttpRequest], HttpResponse]:
    """A read-only JSON endpoint of ``?days=N``: ``answer(days)`` as JSON, or 400 naming a bad
    ``days``; without ``days``, ``without_days()`` when given (else DEFAULT_DAYS). GET only and
    never writes, so CSRF-exempt (other methods get 405, not 403)."""

    @csrf_exempt
    @require_GET
    @reader(json=True)
    @wraps(answer)
    def endpoint(request: HttpRequest) -> HttpResponse:
        raw = request.GET.get("days")
        if raw is None and without_days is not None:
            return SafeJsonResponse(without_days())
        try:
            days = _days(raw)
        except ValueError:
            error = f"{DAYS_ERROR}; got {raw[:40]!r}."
            return SafeJsonResponse({"errors": {"days": [error]}}, status=400)
        return SafeJsonResponse(answer(days))

    return endpoint


def _old_recent() -> dict[str, Any]:
    return old_recent_performance_records(now=timezone.now())


def _recent(days: int) -> dict[str, Any]:
    """``GET /api/recent-performance-records?days=N``; without ``days``, the old tool's own
    response (the newest 50 of all records, its keys only: ``_old_recent``)."""
    return legacy_recent(days=days, now=timezone.now())


recent_performance_records = days_endpoint(_recent, without_days=_old_recent)


@days_endpoint
def summary(days: int) -> dict[str, Any]:
    """``GET /api/summary?days=N`` (default 30): ``get_performance_summary(days)`` as JSON."""
    return performance_summary(days=days)
