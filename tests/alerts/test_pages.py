"""The alerts page, the dashboard's banner of firing rules (page and fragment), and the admin
for rules, over HTTP; under the strict CSP (no inline script or style)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from records.alerts.models import AlertRule
from records.alerts.services import evaluate_rules, rule_create
from tests.alerts.helpers import streak
from tests.dashboard.html import parse

pytestmark = pytest.mark.django_db


def make_rule(name: str, **fields) -> AlertRule:
    defaults = {
        "metric": "pass_rate",
        "condition": "below",
        "threshold": 70,
        "window_kind": "tasks",
        "window_size": 5,
        "min_tasks": 5,
        "webhooks": "https://hooks.example.com/x",
        "emails": "team@example.com",
    }
    return rule_create(name=name, **(defaults | fields))


@pytest.fixture
def firing():
    """One rule firing (debugging fails), one fine (coding passes), evaluated a few times."""
    now = timezone.now()
    streak(5, end=now - timedelta(minutes=10), score=40, task_type="debugging")
    streak(5, end=now - timedelta(minutes=5), score=95, task_type="coding")
    bad = make_rule("Debugging pass rate", task_type="debugging")
    good = make_rule("Coding pass rate", task_type="coding")
    for minutes in (3, 2, 1):
        evaluate_rules(now=now - timedelta(minutes=minutes))
    return bad, good


def assert_no_inline_code(html: str) -> None:
    assert "<style" not in html
    assert " style=" not in html
    for tag in html.split("<script")[1:]:
        opening = tag.split(">", 1)[0]
        assert "src=" in opening or 'type="application/json"' in opening, opening


def test_the_alerts_page_shows_each_rule_state_history_and_sparkline(client, firing):
    response = client.get("/alerts/")

    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    doc = parse(html)
    rules = {s.attrs["data-rule"]: s for s in doc.select("section", attr="data-rule")}
    assert {name: s.attrs["data-state"] for name, s in rules.items()} == {
        "Debugging pass rate": "firing",
        "Coding pass rate": "ok",
    }
    # firing rules come first
    first = doc.select("section", attr="data-rule")[0]
    assert first.attrs["data-rule"] == "Debugging pass rate"
    card = rules["Debugging pass rate"]
    assert card.one(attr="data-value").text == "0.0%"
    assert "pass rate below 70.0% over the last 5 tasks (debugging)" in card.text
    [row] = card.select("tr", attr="data-event-state")
    assert row.attrs["data-event-state"] == "firing"
    assert "5 tasks" in row.text
    assert "webhook https://hooks.example.com/x: pending" in row.text
    spark = card.one("svg", cls="sparkline")
    points = spark.one("polyline").attrs["points"].split()
    assert len(points) == 3  # one per check
    assert spark.one("line", cls="spark-threshold")
    assert rules["Coding pass rate"].select("p", cls="footnote")[0].text == "No state change yet."


def test_the_page_reads_a_fixed_number_of_queries(client, firing, django_assert_max_num_queries):
    for minutes in range(20):  # more history changes nothing
        evaluate_rules(now=timezone.now() + timedelta(minutes=minutes))

    with django_assert_max_num_queries(4):
        assert client.get("/alerts/").status_code == 200


def test_the_admin_links_a_rule_to_its_state_changes(admin_client, firing):
    bad, _ = firing

    page = admin_client.get(f"/admin/records/alertrule/{bad.pk}/change/").content.decode()

    assert f"/admin/records/alertevent/?rule__id__exact={bad.pk}" in page
    assert "1 state changes" in page
    events = admin_client.get(f"/admin/records/alertevent/?rule__id__exact={bad.pk}")
    assert "Debugging pass rate" in events.content.decode()


def test_the_page_without_rules_says_how_to_add_one(client):
    html = client.get("/alerts/").content.decode()

    assert "No alert rules yet" in html
    assert "add_alert_rule" in html


def test_the_dashboard_shows_a_banner_of_the_firing_rules(client, firing):
    bad, _ = firing

    doc = parse(client.get("/").content)

    banner = doc.one(cls="alert-banner")
    assert banner.attrs["data-firing"] == "1"
    [item] = banner.select("li", attr="data-alert")
    assert item.attrs["data-alert"] == "Debugging pass rate"
    assert item.one("a").attrs["href"] == f"/alerts/#rule-{bad.pk}"


def test_the_banner_refreshes_as_a_fragment_like_the_panels(client, firing):
    doc = parse(client.get("/").content)
    [holder] = [n for n in doc.select(attr="data-panel") if n.attrs["data-panel"] == "alerts"]
    assert "data-poll" in holder.attrs
    url = holder.attrs["hx-get"]
    assert url.startswith("/fragments/alerts/")

    fragment = client.get(url)
    assert fragment.status_code == 200
    assert parse(fragment.content).one(cls="alert-banner").attrs["data-firing"] == "1"

    # the rule recovers: the next refresh has no banner
    streak(5, end=timezone.now(), score=95, task_type="debugging")
    evaluate_rules()
    assert "alert-banner" not in client.get(url).content.decode()


def test_no_banner_when_nothing_fires(client):
    streak(3, end=timezone.now(), score=95)
    make_rule("fine")
    evaluate_rules()

    assert "alert-banner" not in client.get("/").content.decode()
    assert "alert-banner" not in client.get("/fragments/alerts/").content.decode()


def test_the_banner_shows_before_any_record_is_stored(client):
    rule = make_rule("quiet")
    AlertRule.objects.filter(pk=rule.pk).update(state="firing", state_since=timezone.now())

    assert "alert-banner" in client.get("/").content.decode()


def test_a_disabled_rule_is_not_in_the_banner(client, firing):
    bad, _ = firing
    AlertRule.objects.filter(pk=bad.pk).update(enabled=False)

    assert "alert-banner" not in client.get("/fragments/alerts/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/records/alertrule/",
        "/admin/records/alertrule/add/",
        "/admin/records/alertrule/{pk}/change/",
        "/admin/records/alertevent/",
        "/admin/records/alertevent/?rule__id__exact={pk}",
        "/admin/records/notificationattempt/",
    ],
)
def test_the_admin_manages_rules_under_the_strict_policy(admin_client, firing, url):
    bad, _ = firing

    response = admin_client.get(url.format(pk=bad.pk))

    assert response.status_code == 200
    assert_no_inline_code(response.content.decode())


def test_a_rule_added_in_the_admin_is_validated(admin_client):
    form = {
        "name": "from admin",
        "enabled": "on",
        "metric": "pass_rate",
        "condition": "below",
        "threshold": "170",
        "window_kind": "tasks",
        "window_size": "20",
        "min_tasks": "5",
        "webhooks": "not a url",
        "emails": "",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }

    refused = admin_client.post("/admin/records/alertrule/add/", form)
    assert refused.status_code == 200
    assert "run from 0 to 100" in refused.content.decode()
    assert "Not an http(s) URL" in refused.content.decode()
    assert AlertRule.objects.count() == 0

    form |= {"threshold": "70", "webhooks": "https://hooks.example.com/a"}
    assert admin_client.post("/admin/records/alertrule/add/", form).status_code == 302
    assert AlertRule.objects.get().webhook_list == ["https://hooks.example.com/a"]
