"""PERFSITE_REQUIRE_LOGIN=1: every read URL needs a session; the write API needs a token; the
admin needs staff. The list of read URLs is built from the URLconf, so a new one cannot be missed.
"""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.access import LOGIN_REQUIRED_MESSAGE
from dashboard.panels import PANELS
from records.models import TaskRecord
from records.recording.tokens import token_create
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db

RECORD_ID = "access-1"

# Every named URL outside the admin, and what it is. A URL the URLconf gains without an entry
# here fails test_every_url_is_classified.
READ_URLS = {
    "dashboard:index": ["/", "/?q=fix+crash&period=30d"],  # a search: temporary tables
    "dashboard:fragment": [f"/fragments/{panel}/" for panel in PANELS],  # insights too, once in
    "dashboard:record": [f"/records/{RECORD_ID}/"],
    "dashboard:export": ["/export/?format=csv", "/export/?format=jsonl"],
    "dashboard:compare": ["/compare/", "/compare/?a=period:7d&b=period:prev7d"],
    "dashboard:alerts": ["/alerts/"],
    "dashboard:api-recent-performance-records": ["/api/recent-performance-records?days=7"],
    "dashboard:api-summary": ["/api/summary?days=7"],
    "dashboard:api-recommendations": ["/api/recommendations?task_type=debugging"],
}
JSON_READS = {
    "dashboard:api-recent-performance-records",
    "dashboard:api-summary",
    "dashboard:api-recommendations",
}
# Public on purpose: the OpenAPI document describes the API (no data), and clients need it to
# learn how to authenticate; the login and logout views must be reachable signed out.
PUBLIC_URLS = {"records:api-openapi", "login", "logout"}
TOKEN_URLS = {
    "records:api-records",
    "records:otlp-logs",
    "records:otlp-traces",
    "records:otlp-metrics",
}


def _named_urls(patterns, namespace: str = "") -> set[str]:
    names = set()
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names |= _named_urls(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"unnamed URL pattern {entry.pattern}: name it and classify it"
            names.add(namespace + entry.name)
    return names


def _read_urls() -> list[tuple[str, str]]:
    return [(name, url) for name, urls in READ_URLS.items() for url in urls]


@pytest.fixture
def record():
    return TaskRecordFactory(record_id=RECORD_ID)


@pytest.fixture
def require_login(settings):
    settings.PERFSITE_REQUIRE_LOGIN = True


def test_every_url_is_classified():
    names = _named_urls(get_resolver().url_patterns)

    assert names == set(READ_URLS) | PUBLIC_URLS | TOKEN_URLS


@pytest.mark.parametrize(("name", "url"), _read_urls())
def test_read_urls_need_a_session(client, record, require_login, name, url):
    response = client.get(url)

    if name in JSON_READS:
        assert response.status_code == 401
        assert response.json() == {"errors": {"auth": [LOGIN_REQUIRED_MESSAGE]}}
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert RECORD_ID not in response.content.decode()


@pytest.mark.parametrize(("name", "url"), _read_urls())
def test_read_urls_work_after_signing_in(
    client, record, require_login, django_user_model, name, url
):
    django_user_model.objects.create_user("reader", password="a long reader password")
    signed_in = client.post(
        "/accounts/login/", {"username": "reader", "password": "a long reader password"}
    )
    assert signed_in.status_code == 302

    response = client.get(url)

    assert response.status_code == 200


@pytest.mark.parametrize(("name", "url"), _read_urls())
def test_read_urls_are_open_without_the_setting(client, record, name, url):
    assert client.get(url).status_code == 200


def test_login_redirects_back_to_the_page_asked_for(
    client, record, require_login, django_user_model
):
    django_user_model.objects.create_user("reader", password="a long reader password")
    asked = client.get("/?period=30d")

    page = client.get(asked["Location"])
    assert page.status_code == 200
    assert 'action="/accounts/login/"' in page.content.decode()
    assert 'value="/?period=30d"' in page.content.decode()
    assert "Content-Security-Policy" in page
    response = client.post(
        "/accounts/login/",
        {"username": "reader", "password": "a long reader password", "next": "/?period=30d"},
    )
    assert response["Location"] == "/?period=30d"


def test_wrong_password_is_refused_with_a_message(client, require_login, django_user_model):
    django_user_model.objects.create_user("reader", password="a long reader password")

    response = client.post("/accounts/login/", {"username": "reader", "password": "wrong"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_login_does_not_redirect_off_site(client, django_user_model):
    django_user_model.objects.create_user("reader", password="a long reader password")
    response = client.post(
        "/accounts/login/",
        {
            "username": "reader",
            "password": "a long reader password",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/"


def test_sign_out_ends_the_session(client, record, require_login, django_user_model):
    user = django_user_model.objects.create_user("reader", password="x")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in page

    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_openapi_stays_public(client, require_login):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_write_api_is_token_based_not_session_based(client, require_login, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", password="x"))
    task = {"task_type": "coding", "description": "session only", "success": True}

    by_session = client.post("/api/records", json.dumps(task), content_type="application/json")
    assert by_session.status_code == 401
    assert TaskRecord.objects.count() == 0

    _, key = token_create(name="ci")
    by_token = client.post(
        "/api/records",
        json.dumps(task),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert by_token.status_code == 201
    assert TaskRecord.objects.count() == 1


def test_admin_is_staff_only(client, record, require_login, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="x"))

    assert client.get("/").status_code == 200
    for url in [
        "/admin/",
        "/admin/records/taskrecord/",
        f"/admin/records/taskrecord/{record.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url

    client.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True))
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/summary",
        "/api/recent-performance-records",
        "/api/recommendations",
        "/api/openapi.json",
    ],
)
def test_get_only_json_reads_answer_405_to_other_methods_even_with_csrf_checks(method, url):
    from django.test import Client

    response = getattr(Client(enforce_csrf_checks=True), method)(url)

    assert response.status_code == 405
    assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/summary?days=",
        "/api/recent-performance-records?days=",
        "/api/recommendations?task_type=coding&days=",
    ],
)
@pytest.mark.parametrize("days", ["", " ", "1_0", "\uff17", "-1", "0", "1e3", "36501"])
def test_bad_days_is_a_400_naming_days(client, url, days):
    response = client.get(url.replace("days=", "days=" + days))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["days"]
