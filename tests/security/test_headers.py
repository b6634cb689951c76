"""Every response carries the Content-Security-Policy and Permissions-Policy headers."""

from __future__ import annotations

import pytest

from dashboard.security import PERMISSIONS_POLICY
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    return TaskRecordFactory(record_id="hdr-1")


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/fragments/kpis/",
        "/fragments/recent-records/",
        "/records/hdr-1/",
        "/api/summary",
        "/api/recent-performance-records",
        "/api/openapi.json",
        "/admin/login/",
        "/accounts/login/",
        "/records/no-such-record/",  # a 404 too
    ],
)
def test_security_headers_on_every_kind_of_response(client, settings, record, url):
    response = client.get(url)

    assert response.status_code in {200, 404}
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_the_policy_is_strict(settings):
    directives = dict(
        part.strip().split(" ", 1) for part in settings.CONTENT_SECURITY_POLICY.split(";")
    )

    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in settings.CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in settings.CONTENT_SECURITY_POLICY


def test_the_policy_follows_the_setting(client, settings):
    settings.CONTENT_SECURITY_POLICY = "default-src 'none'"

    assert client.get("/api/summary")["Content-Security-Policy"] == "default-src 'none'"


def test_post_api_responses_carry_the_headers_too(client):
    response = client.post("/api/records", "{}", content_type="application/json")

    assert response.status_code == 401
    assert "Content-Security-Policy" in response
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/records/taskrecord/",
        "/admin/records/taskrecord/add/",
        "/admin/records/taskrecord/{pk}/change/",
        "/admin/records/importrun/",
        "/admin/records/apitoken/",
    ],
)
def test_admin_pages_use_no_inline_script_or_style(admin_client, record, url):
    """The strict policy fits Django's admin: no inline <script> or <style>, no style= or on*=."""
    response = admin_client.get(url.format(pk=record.pk))

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    html = response.content.decode()
    assert "<script>" not in html and '<script type="text/javascript">' not in html
    for tag in html.split("<script")[1:]:
        opening = tag.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening, opening
    assert "<style" not in html
    assert " style=" not in html, "inline style attributes are blocked by style-src 'self'"
    assert " onclick=" not in html and " onload=" not in html
