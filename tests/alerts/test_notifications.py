"""Notifications reach real servers on loopback: the email an SMTP server (aiosmtpd), the
webhook an HTTP server that checks the signature; a failing channel is retried with backoff,
then recorded as failed, and never keeps the other channels from being notified."""

from __future__ import annotations

import email
from datetime import timedelta

import pytest

from records.alerts.models import NotificationAttempt
from records.alerts.services import check_alerts, rule_create
from tests.alerts.helpers import T0, streak
from tests.alerts.servers import free_port, smtp_server, webhook_server

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SECRET = "test-webhook-secret"


@pytest.fixture
def smtp(settings):
    with smtp_server() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.DEFAULT_FROM_EMAIL = "perfsite@example.com"
        settings.PERFSITE_WEBHOOK_SECRET = SECRET
        settings.PERFSITE_ALERT_ATTEMPTS = 3
        settings.PERFSITE_ALERT_BACKOFF = 0.5
        yield mailbox


def failing_rule(webhook: str):
    rule = rule_create(
        name="GLM debugging",
        metric="pass_rate",
        condition="below",
        threshold=70,
        window_kind="tasks",
        window_size=5,
        min_tasks=5,
        task_type="debugging",
        model="GLM 4.6",
        webhooks=webhook,
        emails="team@example.com",
    )
    streak(5, end=T0, score=40)
    return rule


def test_a_firing_rule_sends_one_signed_webhook_and_one_email(smtp):
    with webhook_server(secret=SECRET, answers=[200]) as (hook, url):
        failing_rule(url)
        result = check_alerts(now=T0)
        check_alerts(now=T0 + timedelta(minutes=1))  # still firing: nothing more is sent

    assert [d.ok for d in result.deliveries] == [True, True]
    [received] = hook.received
    assert received["signature_ok"]
    assert received["content_type"] == "application/json"
    body = received["body"]
    assert body["text"].startswith("Perfsite alert FIRING: GLM debugging: pass rate 0.0%")
    assert body["state"] == "firing"
    assert body["value"] == 0
    assert body["rule"]["scope"]["model"] == "GLM 4.6"
    assert body["tasks"]["count"] == 5
    assert len(body["tasks"]["record_ids"]) == 5
    [(sender, recipients, content)] = smtp.messages
    assert sender == "perfsite@example.com"
    assert recipients == ["team@example.com"]
    message = email.message_from_bytes(content)
    assert message["Subject"] == "[Perfsite] FIRING: GLM debugging"
    assert "pass rate 0.0%" in message.get_payload(decode=True).decode()
    assert set(NotificationAttempt.objects.values_list("status", flat=True)) == {"sent"}


def test_a_webhook_answering_500_is_retried_then_failed_while_email_goes_out(smtp):
    waits = []
    with webhook_server(secret=SECRET, answers=[500]) as (hook, url):
        failing_rule(url)
        result = check_alerts(now=T0, sleep=waits.append)

    assert len(hook.received) == 3  # PERFSITE_ALERT_ATTEMPTS
    assert waits == [0.5, 1.0]  # exponential backoff
    webhook = NotificationAttempt.objects.get(channel="webhook")
    assert webhook.status == "failed"
    assert webhook.attempts == 3
    assert "HTTP 500" in webhook.last_error
    assert NotificationAttempt.objects.get(channel="email").status == "sent"
    assert len(smtp.messages) == 1
    assert result.evaluations[0].rule.state == "firing"
    # a failed notification is not sent again by later checks
    check_alerts(now=T0 + timedelta(minutes=1), sleep=waits.append)
    assert len(hook.received) == 3


def test_a_webhook_that_recovers_on_a_retry_is_sent(smtp):
    with webhook_server(secret=SECRET, answers=[503, 200]) as (hook, url):
        failing_rule(url)
        check_alerts(now=T0, sleep=lambda s: None)

    webhook = NotificationAttempt.objects.get(channel="webhook")
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("sent", 2, "")
    assert len(hook.received) == 2


def test_a_client_error_is_not_retried(smtp):
    with webhook_server(secret=SECRET, answers=[404]) as (hook, url):
        failing_rule(url)
        check_alerts(now=T0, sleep=lambda s: None)

    webhook = NotificationAttempt.objects.get(channel="webhook")
    assert (webhook.status, webhook.attempts) == ("failed", 1)
    assert len(hook.received) == 1


def test_an_unreachable_webhook_and_a_refused_smtp_server_are_recorded(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nobody listens
    settings.PERFSITE_ALERT_ATTEMPTS = 2
    rule = failing_rule(f"http://127.0.0.1:{free_port()}/nobody")

    result = check_alerts(now=T0, sleep=lambda s: None)

    assert {(d.channel, d.ok, d.attempts) for d in result.deliveries} == {
        ("webhook", False, 2),
        ("email", False, 2),
    }
    assert all(a.last_error for a in NotificationAttempt.objects.all())
    rule.refresh_from_db()
    assert rule.state == "firing"  # the evaluation stands, whatever the channels did


def test_recovery_sends_one_resolved(smtp):
    with webhook_server(secret=SECRET, answers=[200]) as (hook, url):
        failing_rule(url)
        check_alerts(now=T0)
        streak(5, end=T0 + timedelta(hours=1), score=95)
        check_alerts(now=T0 + timedelta(hours=1))
        check_alerts(now=T0 + timedelta(hours=2))

    assert [r["body"]["state"] for r in hook.received] == ["firing", "ok"]
    assert hook.received[1]["body"]["text"].startswith("Perfsite alert RESOLVED: GLM debugging")
    subjects = [email.message_from_bytes(c)["Subject"] for _, _, c in smtp.messages]
    assert subjects == ["[Perfsite] FIRING: GLM debugging", "[Perfsite] RESOLVED: GLM debugging"]
