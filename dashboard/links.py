"""Every URL the dashboard prints: the page for a view, a panel's fragment, a record's page.

Built from a ``DashboardQuery`` so that links keep the reader's period and filters (defaults are
left out, so equal views have equal URLs).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.forms import DashboardQuery


def _with_query(path: str, querystring: str) -> str:
    return f"{path}?{querystring}" if querystring else path


def page_url(query: DashboardQuery, **overrides: str | None) -> str:
    """The dashboard showing ``query`` with ``overrides`` applied (None removes a parameter)."""
    return _with_query(reverse("dashboard:index"), query.querystring(**overrides))


def page_url_for(**params: str | None) -> str:
    """The dashboard filtered by ``params`` (default period), e.g. from a record page."""
    querystring = urlencode({key: value for key, value in params.items() if value})
    return _with_query(reverse("dashboard:index"), querystring)


def fragment_url(panel: str, query: DashboardQuery, **extra: str | None) -> str:
    """One panel's HTML (``/fragments/<panel>/``) for the same view."""
    return _with_query(reverse("dashboard:fragment", args=[panel]), query.querystring(**extra))


def panel_urls(query: DashboardQuery, *, keys: Mapping[str, str]) -> dict[str, str]:
    """{context key: fragment URL} for the panels ``keys`` maps (panel name -> context key)."""
    return {key: fragment_url(panel, query) for panel, key in keys.items()}


def export_url(query: DashboardQuery, fmt: str) -> str:
    """The download of the view's records (``/export/?format=csv|jsonl``), in its order."""
    params = query.params(format=fmt, type_sort=None, model_sort=None)
    return _with_query(reverse("dashboard:export"), urlencode(params))


def record_url(record_id: str) -> str:
    return reverse("dashboard:record", args=[record_id])


def compare_url(query: DashboardQuery, *, a: str, b: str, **overrides: str | None) -> str:
    """``/compare/`` of slices ``a`` and ``b`` (``KIND:VALUE``) within the view ``query``."""
    params = {"a": a, "b": b} | query.params(**overrides)
    return _with_query(reverse("dashboard:compare"), urlencode(params))
