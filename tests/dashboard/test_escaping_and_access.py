"""Untrusted text (descriptions, model names, labels) is escaped everywhere; optional login."""

from __future__ import annotations

import pytest

from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def hostile():
    model = AIModelFactory(name=f"Evil {IMG}")
    return TaskRecordFactory(
        record_id="hostile-1",
        description=f"Fix {SCRIPT} now",
        task_label=f"label {IMG}",
        model=model,
        issues=[SCRIPT],
        recommendations=[IMG],
        skills=[SCRIPT],
        raw=[{"source": "api", "payload": {"description": SCRIPT}}],
    )


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/?model=Evil+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
        "/?period=%3Cscript%3Ealert(1)%3C/script%3E",
        "/fragments/recent-records/",
        "/fragments/models/",
        "/fragments/task-types/",
        "/fragments/kpis/",
        "/fragments/trend/",
        "/records/hostile-1/",
        "/api/recent-performance-records",
        "/api/summary",
    ],
)
def test_untrusted_text_is_never_markup(client, hostile, url):
    response = client.get(url)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert" not in body
    assert "<img src=x" not in body


def test_escaped_description_is_still_readable(client, hostile):
    body = client.get("/").content.decode()

    assert "Fix &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; now" in body


def test_login_can_be_required_for_every_read(client, settings, django_user_model):
    settings.PERFSITE_REQUIRE_LOGIN = True
    record = TaskRecordFactory()
    pages = ["/", "/fragments/kpis/", f"/records/{record.record_id}/"]
    apis = ["/api/recent-performance-records", "/api/summary"]

    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in apis:
        assert client.get(url).status_code == 401, url

    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    for url in pages + apis:
        assert client.get(url).status_code == 200, url


def test_reads_are_get_only(client):
    assert client.post("/").status_code == 405
    assert client.post("/api/summary").status_code == 405
