"""Notifications of alert state changes: webhooks (signed JSON) and email, each retried with
exponential backoff, each channel on a thread of its own so that a slow or failing one never
holds up the others. Network work runs on the threads; the database is read before and written
after, on the caller's thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import timezone

from records.alerts.models import AlertEvent, Channel, Delivery, NotificationAttempt
from records.alerts.text import condition_text, scope_text, window_text
from records.rules.alerts import METRIC_LABELS

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Perfsite-Signature"
DELIVER_BATCH = 200  # pending notifications delivered per check
MAX_ERROR = 2000


class PermanentError(Exception):
    """A failure that a retry would not fix (a 4xx answer other than 408 and 429)."""


def sign(body: bytes, secret: str) -> str:
    """The X-Perfsite-Signature value: ``sha256=`` and the HMAC-SHA256 of the body, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def alerts_url() -> str:
    path = reverse("dashboard:alerts")
    base = settings.PERFSITE_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else path


def payload(event: AlertEvent) -> dict:
    """The webhook body: ``text`` for Slack and Mattermost, then the structured data."""
    rule = event.rule
    return {
        "text": f"{event.summary} {alerts_url()}",
        "state": event.state,
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            "metric": rule.metric,
            "metric_label": METRIC_LABELS[rule.metric],
            "condition": rule.condition,
            "threshold": event.threshold,
            "window": {"kind": rule.window_kind, "size": rule.window_size},
            "scope": {
                "task_type": rule.task_type or None,
                "model": rule.model or None,
                "project": rule.project or None,
                "skill": rule.skill or None,
                "agent": rule.agent or None,
                "origin": rule.origin or None,
            },
            "description": f"{condition_text(rule)} over {window_text(rule)} ({scope_text(rule)})",
        },
        "value": event.value,
        "previous_value": event.previous_value,
        "at": event.at.isoformat(),
        "tasks": {
            "count": event.task_count,
            "first_at": event.first_at.isoformat() if event.first_at else None,
            "last_at": event.last_at.isoformat() if event.last_at else None,
            "window_start": event.window_start.isoformat() if event.window_start else None,
            "window_end": event.window_end.isoformat(),
            "record_ids": event.record_ids,
        },
        "url": alerts_url(),
    }


def post_webhook(url: str, body: bytes, *, timeout: float) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": "Perfsite-Alerts"}
    if settings.PERFSITE_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(body, settings.PERFSITE_WEBHOOK_SECRET)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as error:
        message = f"HTTP {error.code} from {url}"
        if 400 <= error.code < 500 and error.code not in {408, 429}:
            raise PermanentError(message) from error
        raise OSError(message) from error


def send_email(address: str, subject: str, text: str, *, timeout: float) -> None:
    connection = get_connection(timeout=timeout)
    message = EmailMessage(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        connection=connection,
    )
    message.send(fail_silently=False)


@dataclass(frozen=True)
class Delivered:
    attempt_id: int
    channel: str
    target: str
    ok: bool
    attempts: int
    error: str


def with_retries(
    send: Callable[[], None], *, attempts: int, backoff: float, sleep: Callable[[float], None]
) -> tuple[bool, int, str]:
    """Call ``send`` up to ``attempts`` times, waiting backoff, 2·backoff, 4·backoff… between;
    (delivered?, calls made, the last error)."""
    error = ""
    for made in range(1, attempts + 1):
        try:
            send()
            return True, made, ""
        except PermanentError as failure:
            return False, made, str(failure)[:MAX_ERROR]
        except Exception as failure:  # any failure of a channel is recorded, none escapes
            error = f"{type(failure).__name__}: {failure}"[:MAX_ERROR]
            if made < attempts:
                sleep(backoff * 2 ** (made - 1))
    return False, attempts, error


def deliver_pending(
    *, now: datetime | None = None, sleep: Callable[[float], None] | None = None
) -> list[Delivered]:
    """Send every pending notification (oldest first, DELIVER_BATCH at most) and record how
    each went: sent, or failed after the last retry with its error."""
    sleep = sleep or time.sleep
    pending = list(
        NotificationAttempt.objects.filter(status=Delivery.PENDING)
        .select_related("event__rule")
        .order_by("created_at", "id")[:DELIVER_BATCH]
    )
    if not pending:
        return []
    timeout = settings.PERFSITE_ALERT_TIMEOUT
    tries = max(1, settings.PERFSITE_ALERT_ATTEMPTS)
    backoff = settings.PERFSITE_ALERT_BACKOFF
    jobs = []
    for attempt in pending:
        event = attempt.event
        if attempt.channel == Channel.WEBHOOK:
            body = json.dumps(payload(event)).encode()

            def send(url=attempt.target, body=body) -> None:
                post_webhook(url, body, timeout=timeout)
        else:
            head = "FIRING" if event.state == "firing" else "RESOLVED"
            subject = f"[Perfsite] {head}: {event.rule.name}"
            text = f"{event.summary}\n\n{alerts_url()}\n"

            def send(address=attempt.target, subject=subject, text=text) -> None:
                send_email(address, subject, text, timeout=timeout)

        jobs.append((attempt, send))

    def run(job) -> Delivered:
        attempt, send = job
        ok, made, error = with_retries(send, attempts=tries, backoff=backoff, sleep=sleep)
        return Delivered(attempt.pk, attempt.channel, attempt.target, ok, made, error)

    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        results = list(pool.map(run, jobs))
    finished = now or timezone.now()
    for attempt, result in zip(pending, results, strict=True):
        attempt.status = Delivery.SENT if result.ok else Delivery.FAILED
        attempt.attempts += result.attempts
        attempt.last_error = result.error
        attempt.finished_at = finished
        attempt.save(update_fields=["status", "attempts", "last_error", "finished_at"])
        if not result.ok:
            logger.warning(
                "Alert %s to %s failed after %d attempts: %s",
                result.channel,
                result.target,
                result.attempts,
                result.error,
            )
    return results
