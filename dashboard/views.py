"""Dashboard views: validate the query string, ask the panel builders, render. Reads only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from dashboard.access import reader
from dashboard.alerts import alerts_page_context
from dashboard.detail import record_detail_context
from dashboard.forms import DashboardQuery, parse_query
from dashboard.panels import PANELS, page_context, panel_context
from dashboard.selectors import model_choices, model_exists, record_detail, session_records
from records.recording.schema import MAX_RECORD_ID
from records.stats.selectors import has_records

INDEX_TEMPLATE = "dashboard/index.html"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _query(request: HttpRequest) -> DashboardQuery:
    return parse_query(request.GET, model_exists=model_exists, now=timezone.now())


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
@reader()
def index(request: HtmxHttpRequest) -> HttpResponse:
    query = _query(request)
    names = model_choices(selected=query.filters.model)
    context = page_context(query, model_names=names, has_records=has_records())
    template = INDEX_TEMPLATE
    # The controls swap the whole #dashboard region (controls, notices and panels) in place.
    if (
        request.htmx
        and request.htmx.target == "dashboard"
        and not request.htmx.history_restore_request
    ):
        template += "#dashboard"
    return render(request, template, context)


@require_GET
@reader()
def fragment(request: HttpRequest, panel: str) -> HttpResponse:
    if panel not in PANELS:
        raise Http404(f"No dashboard panel called {panel!r}; panels: {', '.join(PANELS)}.")
    query = _query(request)
    partial = panel
    if panel == "recent-records" and query.cursor is not None:
        partial = "recent-rows"  # "load more": only the next rows and a new "load more" row
    return render(request, f"{INDEX_TEMPLATE}#{partial}", panel_context(panel, query))


def _can_be_a_record_id(text: str) -> bool:
    """Whether any stored record could have this id. A NUL is never stored (PostgreSQL cannot
    even compare with it: asking would be a 500), nor an id over the length limit."""
    return 0 < len(text) <= MAX_RECORD_ID and "\x00" not in text


@require_GET
@reader()
def record(request: HttpRequest, record_id: str) -> HttpResponse:
    if not _can_be_a_record_id(record_id):
        raise Http404("No record with that id.")
    found = record_detail(record_id=record_id)
    if found is None:
        raise Http404(f"No record with id {record_id!r}.")
    context = record_detail_context(found, session=session_records(record=found))
    return render(request, "dashboard/record_detail.html", context)


@require_GET
@reader()
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/alerts.html", alerts_page_context())
