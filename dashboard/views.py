"""Dashboard views: validate the query string, ask the panel builders, render. Reads only."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from dashboard.access import reader
from dashboard.alerts import alerts_page_context
from dashboard.compare import compare_context
from dashboard.detail import record_detail_context
from dashboard.forms import DashboardQuery, parse_query
from dashboard.panels import PANELS, page_context, panel_context
from dashboard.selectors import (
    filter_choices,
    model_exists,
    project_exists,
    record_detail,
    session_records,
    skill_exists,
    sorted_records,
)
from dashboard.slices import Lookups, parse_sides
from records.recording.schema import MAX_RECORD_ID
from records.stats.exports import FORMATS, csv_lines, jsonl_lines, queryset_rows
from records.stats.selectors import has_records

INDEX_TEMPLATE = "dashboard/index.html"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _query(request: HttpRequest) -> DashboardQuery:
    return parse_query(
        request.GET, model_exists=model_exists, project_exists=project_exists, now=timezone.now()
    )


@require_safe
@vary_on_headers("HX-Request", "HX-Target")
@reader()
def index(request: HtmxHttpRequest) -> HttpResponse:
    query = _query(request)
    choices = filter_choices(
        selected_model=query.filters.model, selected_project=query.filters.project
    )
    context = page_context(
        query,
        model_names=choices.models,
        project_names=choices.projects,
        has_records=has_records(),
    )
    template = INDEX_TEMPLATE
    # The controls swap the whole #dashboard region (controls, notices and panels) in place.
    if (
        request.htmx
        and request.htmx.target == "dashboard"
        and not request.htmx.history_restore_request
    ):
        template += "#dashboard"
    return render(request, template, context)


@require_safe
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


@require_safe
@reader()
def record(request: HttpRequest, record_id: str) -> HttpResponse:
    if not _can_be_a_record_id(record_id):
        raise Http404("No record with that id.")
    found = record_detail(record_id=record_id)
    if found is None:
        raise Http404(f"No record with id {record_id!r}.")
    context = record_detail_context(found, session=session_records(record=found))
    return render(request, "dashboard/record_detail.html", context)


EXPORT_FORMAT_MESSAGE = "“format” must be csv or jsonl; got “{value}”."
_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@require_safe
@reader()
def export(request: HttpRequest) -> HttpResponse:
    """The view's records (period, filters, search, sort) as CSV or JSON Lines, streamed, with
    the columns of ``manage.py export_records``. A parameter the page would ignore is a 400
    here: a download must be of the view that was asked for."""
    fmt = request.GET.get("format", "")
    query = _query(request)
    errors = list(query.ignored)
    if fmt not in FORMATS:
        errors.insert(0, EXPORT_FORMAT_MESSAGE.format(value=fmt[:20]))
    if errors:
        return HttpResponse(
            "\n".join(errors) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    rows = queryset_rows(
        sorted_records(window=query.window, filters=query.filters, sort=query.sort)
    )
    lines = csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)
    response = StreamingHttpResponse(lines, content_type=_EXPORT_TYPES[fmt])
    stamp = query.now.strftime("%Y%m%d-%H%M%S")
    name = f"perfsite-records-{query.period}-{stamp}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@reader()
def compare(request: HttpRequest) -> HttpResponse:
    """Two slices side by side (``?a=KIND:VALUE&b=KIND:VALUE``); a bad slice is a 400 page that
    names the problem beside the form."""
    query = _query(request)
    lookups = Lookups(
        now=query.now,
        model_exists=model_exists,
        skill_exists=skill_exists,
        project_exists=project_exists,
    )
    sides = parse_sides(request.GET, lookups)
    choices = filter_choices()
    context = compare_context(
        query, sides, model_names=choices.models, project_names=choices.projects
    )
    return render(request, "dashboard/compare.html", context, status=400 if sides.errors else 200)


@require_safe
@reader()
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/alerts.html", alerts_page_context())
