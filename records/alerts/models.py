"""Alert rules, the changes of their state, the notifications sent for them, metric samples.

The models belong to the records app (``records/models.py`` imports them), so their migrations
live with the records' migrations.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.db.models import Q

from records.rules.classification import CANONICAL_TYPES

TASK_TYPE_CHOICES = [(name, name.capitalize()) for name in CANONICAL_TYPES]


class Metric(models.TextChoices):
    PASS_RATE = "pass_rate", "Pass rate (%)"
    MEAN_QUALITY = "mean_quality", "Mean quality"
    MEAN_PERFORMANCE = "mean_performance", "Mean performance index"
    COST_PER_TASK = "cost_per_task", "Cost per task (USD)"
    FAILED_TASKS = "failed_tasks", "Failed tasks"


class Condition(models.TextChoices):
    BELOW = "below", "below the threshold"
    ABOVE = "above", "above the threshold"
    DROP = "drop", "worse by at least the threshold than the previous window"


class WindowKind(models.TextChoices):
    HOURS = "hours", "last N hours"
    TASKS = "tasks", "last N tasks"


class Origin(models.TextChoices):
    AUTO = "auto", "Auto"
    MANUAL = "manual", "Manual"


class State(models.TextChoices):
    OK = "ok", "OK"
    FIRING = "firing", "Firing"


MAX_WINDOW_HOURS = 24 * 366
MAX_WINDOW_TASKS = 10_000
MAX_CHANNELS = 20
# Bounds the sparkline and what a check writes: older samples of a rule are deleted.
SAMPLES_KEPT = 60
# The record ids kept on a state change of a last-N-tasks rule (the time range covers the rest).
EVENT_RECORD_IDS = 50

url_validator = URLValidator(schemes=["http", "https"])


def lines(text: str) -> list[str]:
    """The non-empty lines of a text field (one channel per line; commas accepted too)."""
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class AlertRule(models.Model):
    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    # Scope: every field left empty means "any"; together they narrow the records.
    task_type = models.CharField(max_length=20, choices=TASK_TYPE_CHOICES, blank=True)
    model = models.CharField(max_length=200, blank=True, help_text="A normalised model name.")
    project = models.CharField(max_length=200, blank=True)
    skill = models.CharField(max_length=200, blank=True)
    agent = models.CharField(max_length=200, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, blank=True)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    condition = models.CharField(max_length=10, choices=Condition.choices)
    threshold = models.FloatField(
        help_text="The limit (below/above), or the least change for the worse (drop)."
    )
    window_kind = models.CharField(max_length=10, choices=WindowKind.choices)
    window_size = models.PositiveIntegerField(help_text="N hours or N tasks.")
    min_tasks = models.PositiveIntegerField(
        default=5, help_text="Fewer tasks in the window (or the previous one) and it never fires."
    )
    webhooks = models.TextField(blank=True, help_text="Webhook URLs, one per line.")
    emails = models.TextField(blank=True, help_text="Email addresses, one per line.")
    # The current state, kept on the rule so the banner reads one small table.
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    state_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_task_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["state", "enabled"], name="alert_rule_state_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_size__gte=1), name="alert_rule_window_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def webhook_list(self) -> list[str]:
        return lines(self.webhooks)

    @property
    def email_list(self) -> list[str]:
        return lines(self.emails)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.window_kind == WindowKind.HOURS and self.window_size > MAX_WINDOW_HOURS:
            errors.setdefault("window_size", []).append(
                f"A window of at most {MAX_WINDOW_HOURS} hours."
            )
        if self.window_kind == WindowKind.TASKS and self.window_size > MAX_WINDOW_TASKS:
            errors.setdefault("window_size", []).append(
                f"A window of at most {MAX_WINDOW_TASKS} tasks."
            )
        if self.threshold is not None and self.threshold != self.threshold:  # NaN
            errors.setdefault("threshold", []).append("The threshold must be a number.")
        elif self.condition == Condition.DROP and (self.threshold or 0) <= 0:
            errors.setdefault("threshold", []).append("A drop must be greater than 0.")
        if self.metric in {Metric.PASS_RATE, Metric.MEAN_QUALITY, Metric.MEAN_PERFORMANCE}:
            if self.threshold is not None and not 0 <= self.threshold <= 100:
                errors.setdefault("threshold", []).append(
                    "Pass rate, quality and performance run from 0 to 100."
                )
        elif self.threshold is not None and self.threshold < 0:
            errors.setdefault("threshold", []).append("The threshold cannot be negative.")
        webhooks, emails = self.webhook_list, self.email_list
        for url in webhooks:
            try:
                url_validator(url)
            except ValidationError:
                errors.setdefault("webhooks", []).append(f"Not an http(s) URL: {url!r}.")
        for address in emails:
            try:
                validate_email(address)
            except ValidationError:
                errors.setdefault("emails", []).append(f"Not an email address: {address!r}.")
        if len(webhooks) > MAX_CHANNELS or len(emails) > MAX_CHANNELS:
            errors.setdefault("webhooks" if len(webhooks) > MAX_CHANNELS else "emails", []).append(
                f"At most {MAX_CHANNELS} of each channel."
            )
        if errors:
            raise ValidationError(errors)


class AlertEvent(models.Model):
    """One change of a rule's state (ok -> firing, firing -> ok) and what it was based on."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices)
    value = models.FloatField(null=True, blank=True)
    previous_value = models.FloatField(
        null=True, blank=True, help_text="The previous window's value (drop conditions)."
    )
    threshold = models.FloatField()
    task_count = models.PositiveIntegerField()
    first_at = models.DateTimeField(null=True, blank=True, help_text="The oldest task counted.")
    last_at = models.DateTimeField(null=True, blank=True, help_text="The newest task counted.")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField()
    record_ids = models.JSONField(
        default=list, blank=True, help_text="The tasks behind it (last-N-tasks windows)."
    )
    summary = models.TextField(help_text="The sentence sent to the channels.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["rule", "-at"], name="alert_event_rule_time_idx")]

    def __str__(self) -> str:
        return f"{self.rule} {self.state} at {self.at:%Y-%m-%d %H:%M}"


class Channel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "Email"


class Delivery(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class NotificationAttempt(models.Model):
    """One channel's notification of one event: pending until delivered or given up on."""

    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=2000, help_text="The URL or the email address.")
    status = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="alert_notify_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.target}: {self.status}"


class AlertSample(models.Model):
    """A rule's metric at one check: the points of its sparkline (SAMPLES_KEPT per rule)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    task_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["rule", "-at"], name="alert_sample_rule_time_idx")]

    def __str__(self) -> str:
        return f"{self.rule} at {self.at:%Y-%m-%d %H:%M}: {self.value}"
