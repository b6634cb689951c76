"""The admin for alert rules (add, change, switch off) and their history (read only)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from records.alerts.models import AlertEvent, AlertRule, NotificationAttempt


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "enabled",
        "state",
        "metric",
        "condition",
        "threshold",
        "window_kind",
        "window_size",
        "last_value",
        "last_checked_at",
    ]
    list_filter = ["state", "enabled", "metric", "condition", "window_kind"]
    search_fields = ["name", "model", "project", "skill", "agent"]
    readonly_fields = [
        "state",
        "state_since",
        "last_checked_at",
        "last_value",
        "last_task_count",
        "history",
    ]
    fieldsets = [
        (None, {"fields": ["name", "enabled"]}),
        (
            "Scope (empty fields mean any)",
            {"fields": ["task_type", "model", "project", "skill", "agent", "origin"]},
        ),
        (
            "Condition",
            {
                "fields": [
                    "metric",
                    "condition",
                    "threshold",
                    "window_kind",
                    "window_size",
                    "min_tasks",
                ]
            },
        ),
        ("Channels", {"fields": ["webhooks", "emails"]}),
        (
            "State",
            {"fields": readonly_fields},
        ),
    ]

    @admin.display(description="state changes")
    def history(self, rule: AlertRule) -> str:
        """A link to the rule's events (an inline would list every one of them)."""
        if rule.pk is None:
            return "-"
        url = reverse("admin:records_alertevent_changelist") + f"?rule__id__exact={rule.pk}"
        return format_html('<a href="{}">{} state changes</a>', url, rule.events.count())


class NotificationInline(ReadOnlyInline):
    model = NotificationAttempt
    fields = ["channel", "target", "status", "attempts", "last_error", "finished_at"]


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ["rule", "at", "state", "value", "threshold", "task_count"]
    list_filter = ["state", "rule"]
    list_select_related = ["rule"]
    search_fields = ["rule__name"]
    inlines = [NotificationInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(NotificationAttempt)
class NotificationAttemptAdmin(admin.ModelAdmin):
    list_display = ["event", "channel", "target", "status", "attempts", "finished_at"]
    list_filter = ["status", "channel"]
    list_select_related = ["event__rule"]
    search_fields = ["target", "event__rule__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
