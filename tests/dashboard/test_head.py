"""``HEAD`` answers wherever ``GET`` does (uptime monitors and link checkers send HEAD).

The test walks the whole URLconf, so a view added later with ``@require_GET`` (which refuses
HEAD with 405) fails here; Django's ``@require_safe`` allows GET and HEAD.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.panels import PANELS
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

# Value(s) to put in each URL parameter, by parameter name.
SAMPLES = {"panel": list(PANELS), "record_id": ["r-head-1"]}
# Query strings a view needs to answer something else than its default.
EXTRA = {
    "/": ["", "?period=24h", "?period=nonsense"],
    "/fragments/recent-records/": ["", "?rows=3"],
}
# The admin is Django's own (its views already allow HEAD); sign-out is POST-only.
SKIP_NAMESPACES = {"admin"}


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in SKIP_NAMESPACES:
                continue
            yield from _patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _urls(route: str) -> list[str]:
    """Every concrete URL of a route such as ``fragments/<slug:panel>/``."""
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [n for n in names if n not in SAMPLES]
    assert not missing, f"add sample values for {missing} of {route!r} to SAMPLES"
    urls = ["/" + route]
    for name in names:
        urls = [
            re.sub(rf"<(?:\w+:)?{name}>", value, url, count=1)
            for url in urls
            for value in SAMPLES[name]
        ]
    return urls


def test_every_get_url_answers_head_the_same(client):
    TaskRecordFactory(record_id="r-head-1")
    checked = []
    for route, _pattern in _patterns(get_resolver()):
        for url in _urls(route):
            for query in EXTRA.get(url, [""]):
                got = client.get(url + query)
                if got.status_code == 405:
                    continue  # a write-only endpoint (POST /api/records, sign-out)
                head = client.head(url + query)
                assert head.status_code == got.status_code, (url + query, head.status_code)
                assert head.content == b""
                assert head["Content-Type"] == got["Content-Type"], url + query
                checked.append(url + query)
    # The page, its variants, every panel, a record, both JSON APIs, OpenAPI and the sign-in page.
    assert {"/", "/records/r-head-1/", "/api/summary", "/api/openapi.json"} <= set(checked)
    assert {f"/fragments/{panel}/" for panel in PANELS} <= set(checked)
    assert "/accounts/login/" in checked


def test_head_of_the_page_is_200_not_405(client):
    """The issue's report: ``HEAD /`` answered 405."""
    TaskRecordFactory()
    assert client.head("/").status_code == 200
    assert client.head("/api/recent-performance-records?days=1").status_code == 200
    assert client.head("/fragments/kpis/", headers={"HX-Request": "true"}).status_code == 200


def test_head_keeps_refusing_writes(client):
    assert client.head("/api/records").status_code == 405
    assert client.post("/api/summary").status_code == 405
