"""The README's production path, run as written: migrate, collectstatic, gunicorn, DJANGO_DEBUG=0.

Nothing else runs ``collectstatic`` with the production storage (whitenoise's
CompressedManifestStaticFilesStorage), whose post-processing fails on any file a CSS ``url()`` or
a JS ``sourceMappingURL`` names but nobody shipped, and whose pages answer 500 ("Missing
staticfiles manifest entry") for any ``{% static %}`` it did not collect. So this test collects
into a temporary STATIC_ROOT, starts gunicorn and requests every page a user meets (the list comes
from the URLconf via tests/security/test_access.py), then every static file those pages
reference, and what those files reference in turn. SQLite always; PostgreSQL too when
DATABASE_URL points to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.urls import get_resolver

from dashboard.security import PERMISSIONS_POLICY
from tests.security.test_access import (
    JSON_READS,
    PUBLIC_URLS,
    READ_URLS,
    RECORD_ID,
    TOKEN_URLS,
    _named_urls,
)
from tests.support import live

STATIC_URL = "/static/"
ADMIN_LOGIN = "/admin/login/"
# The other named URLs a user meets by GET, besides test_access's READ_URLS.
PUBLIC_PAGES = {"records:api-openapi": "/api/openapi.json", "login": "/accounts/login/"}
# Named URLs that are no page: nobody GETs them.
NOT_PAGES = {
    "logout": "POST only",
    "records:api-records": "the write API, POST with a token",
    "records:otlp-logs": "OTLP/HTTP, POST with a token",
    "records:otlp-traces": "OTLP/HTTP, POST with a token",
    "records:otlp-metrics": "OTLP/HTTP, POST with a token",
}
# Downloads (not pages, not JSON): their content types.
DOWNLOADS = {"text/csv", "application/x-ndjson"}
# The manifest storage names each file by its content: name.<12 hex digits>.ext.
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
SOURCE_MAP = re.compile(r"[#@] sourceMappingURL=(\S+?)(?:\s*\*/)?\s*$", re.MULTILINE)


@dataclass
class Site:
    env: dict[str, str]
    logs: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp(f"production-{request.param}")
    with live.backend_env(request.param, directory, suffix="prod") as env:
        env = live.production_env(env, static_root=directory / "static")
        live.manage(env, "migrate", "--no-input")
        live.manage(env, "collectstatic", "--no-input")  # raises unless it exits 0
        live.manage(env, "seed_demo", "--records", "50", "--seed", "13")
        record = {"record_id": RECORD_ID, "task_type": "coding", "description": "production"}
        live.manage(env, "record_task", input=json.dumps(record | {"success": True}).encode())
        yield Site(env=env, logs=directory)


class _StaticRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for attr in ("src", "href"):
            value = found.get(attr)
            if tag in {"script", "link", "img"} and value and value.startswith(STATIC_URL):
                self.refs.append(value)


def static_refs(html: bytes) -> list[str]:
    parser = _StaticRefs()
    parser.feed(html.decode())
    return parser.refs


def page(url: str, path: str, expected: int = 200) -> tuple[dict, bytes]:
    status, headers, body = live.fetch(url + path)
    assert status == expected, f"{path}: {status}\n{body[:2000].decode(errors='replace')}"
    return headers, body


def served_assets(url: str, refs: set[str]) -> dict[str, bytes]:
    """GET every static path in ``refs`` and whatever CSS ``url()`` and source maps they name;
    {path: body}. Each must answer 200 from whitenoise (immutable caching: a hashed name)."""
    served: dict[str, bytes] = {}
    queue = sorted(refs)
    while queue:
        path = queue.pop()
        if path in served:
            continue
        headers, body = page(url, path)
        assert HASHED.search(path), f"{path} is not a manifest (hashed) name"
        assert "immutable" in headers["Cache-Control"], path  # whitenoise, not Django, served it
        served[path] = body
        if path.endswith((".css", ".js")):
            text = body.decode()
            named = CSS_URL.findall(text) if path.endswith(".css") else []
            named += SOURCE_MAP.findall(text)
            for ref in named:
                if not ref.startswith(("data:", "#", "http:", "https:")):
                    queue.append(urlsplit(urljoin(path, ref)).path)
    return served


def test_every_named_url_is_a_page_here_or_no_page():
    names = _named_urls(get_resolver().url_patterns)

    assert names == set(READ_URLS) | set(PUBLIC_PAGES) | set(NOT_PAGES)
    assert set(PUBLIC_PAGES) | set(NOT_PAGES) == PUBLIC_URLS | TOKEN_URLS


@pytest.mark.slow
def test_collected_site_serves_every_page_and_every_static_file(site):
    paths = [u for urls in READ_URLS.values() for u in urls] + [*PUBLIC_PAGES.values(), ADMIN_LOGIN]
    with live.gunicorn(site.env, workers=2, log=site.logs / "gunicorn.log") as url:
        refs: dict[str, list[str]] = {}
        for path in paths:
            headers, body = page(url, path)
            # The security headers come out of the production server too, not only the test client.
            assert headers["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY, path
            assert headers["Permissions-Policy"] == PERMISSIONS_POLICY, path
            if headers.get_content_type() == "text/html":
                refs[path] = static_refs(body)
            elif headers.get_content_type() in DOWNLOADS:
                assert path.startswith("/export/"), path
            else:
                assert headers.get_content_type() == "application/json", path
                json.loads(body)
        served = served_assets(url, {ref for found in refs.values() for ref in found})
        chart = [p for p in served if p.startswith(f"{STATIC_URL}vendor/chart.js/chart.umd.min.")]
        _, headers, _ = live.fetch(url + chart[0], headers={"Accept-Encoding": "gzip"})

    assert refs["/"] and refs[f"/records/{RECORD_ID}/"] and refs[ADMIN_LOGIN]
    assert all(refs[path] for path in ["/accounts/login/", ADMIN_LOGIN])  # styled, not bare
    assert sorted(p.rsplit(".", 2)[-1] for p in chart) == ["js", "map"]  # the map is served too
    assert json.loads(served[next(p for p in chart if p.endswith(".map"))])["version"] == 3
    assert headers["Content-Encoding"] == "gzip"  # collectstatic compressed it


@pytest.mark.slow
def test_with_require_login_reads_lead_to_a_login_page_that_works(site):
    env = site.env | {"PERFSITE_REQUIRE_LOGIN": "1"}
    with live.gunicorn(env, workers=2, log=site.logs / "gunicorn-login.log") as url:
        locations = set()
        for name, urls in READ_URLS.items():
            for path in urls:
                headers, _ = page(url, path, 401 if name in JSON_READS else 302)
                if name not in JSON_READS:
                    locations.add(headers["Location"].split("?")[0])
        _, login = page(url, "/accounts/login/?next=/")
        _, admin_login = page(url, ADMIN_LOGIN)
        served = served_assets(url, set(static_refs(login) + static_refs(admin_login)))

    assert locations == {"/accounts/login/"}
    assert b'action="/accounts/login/"' in login
    assert any(p.endswith(".css") for p in served)
