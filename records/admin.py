import json
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from records.admin_forms import TaskRecordForm
from records.importer.discovery import LEGACY_PREFIX
from records.models import (
    Agent,
    AgentRollup,
    AIModel,
    ApiToken,
    ImportRun,
    PendingSpan,
    Rollup,
    Skill,
    SkillRollup,
    Span,
    TaskRecord,
)
from records.recorder import SOURCE_RECORDER
from records.recording.demo import SOURCE_DEMO
from records.recording.ingest import SOURCE_API, SOURCE_CLI
from records.recording.services import record_create, record_update, records_delete
from records.recording.tokens import tokens_revoke
from records.rules.scoring import PASS_THRESHOLD

SOURCE_ADMIN = "admin"


class JsonPanelsMedia:
    css = {"all": ["css/admin.css"]}


def pretty_json(value) -> str:
    return format_html(
        '<pre class="perfsite-json">{}</pre>',  # styled by css/admin.css: the CSP allows no style=
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True),
    )


class PassedFilter(admin.SimpleListFilter):
    title = "pass (quality ≥ 70)"
    parameter_name = "passed"

    def lookups(self, request, model_admin):
        return [("yes", "Passed"), ("no", "Below 70")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(quality_score__gte=PASS_THRESHOLD)
        if self.value() == "no":
            return queryset.filter(quality_score__lt=PASS_THRESHOLD)
        return queryset


class SourceFilter(admin.SimpleListFilter):
    """Where records came from, with fixed choices: the built-in filter lists the distinct
    sources with a query that reads every record (0.4 s at a million)."""

    title = "source"
    parameter_name = "source"
    KNOWN = {
        SOURCE_RECORDER: "Python recorder",
        SOURCE_API: "HTTP API",
        SOURCE_CLI: "record_task command",
        SOURCE_DEMO: "Demo data",
        SOURCE_ADMIN: "Admin",
    }

    def lookups(self, request, model_admin):
        return [*self.KNOWN.items(), ("legacy", "Legacy import"), ("other", "Other")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in self.KNOWN:
            return queryset.filter(source=value)
        if value == "legacy":
            return queryset.filter(source__startswith=LEGACY_PREFIX)
        if value == "other":
            return queryset.exclude(source__in=list(self.KNOWN)).exclude(
                source__startswith=LEGACY_PREFIX
            )
        return queryset


TASK_FIELDSETS = [
    (
        None,
        {
            "fields": [
                "task_label",
                "description",
                "complexity",
                "model_name",
                "recorded_at",
                "auto_generated",
            ]
        },
    ),
    (
        "Outcome",
        {
            "fields": [
                "success",
                "duration_seconds",
                "files_modified",
                "lines_changed",
                "issues",
                "recommendations",
                "best_practices_followed",
                "documentation_updated",
            ]
        },
    ),
    ("Skills and agents", {"fields": ["skill_names", "agent_names"]}),
    (
        "Manual assessment",
        {
            "fields": [
                "explicit_quality",
                "code_quality",
                "quality_improvement",
                "given_performance_index",
                "given_time_efficiency",
            ]
        },
    ),
]
DERIVED_FIELDS = [
    "record_id",
    "task_type",
    "quality_score",
    "performance_index",
    "time_efficiency",
    "stored_improvement",
    "breakdown",
]
PROVENANCE_FIELDS = ["source", "created_at", "raw_payloads"]


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):
    Media = JsonPanelsMedia
    list_display = [
        "record_id",
        "recorded_at",
        "task_type",
        "model",
        "quality_score",
        "performance_index",
        "time_efficiency",
        "passed",
        "success",
        "auto_generated",
        "source",
    ]
    # A date filter with fixed ranges rather than date_hierarchy, whose drill-down lists the
    # months and days holding records by truncating every record's date (4 s at a million).
    list_filter = [
        "recorded_at",
        "task_type",
        "model",
        "auto_generated",
        PassedFilter,
        "success",
        SourceFilter,
    ]
    list_select_related = ["model"]
    search_fields = ["=record_id", "description"]
    show_full_result_count = False  # no COUNT(*) over a million rows on every page
    ordering = ["-recorded_at", "-id"]
    # A person edits the task as the recorder receives it; everything derived from it (type,
    # scores, links, rollups) is written by the services, never by the form or an inline.
    form = TaskRecordForm

    def get_fieldsets(self, request: HttpRequest, obj: TaskRecord | None = None) -> list:
        if obj is None:
            return TASK_FIELDSETS
        return [
            *TASK_FIELDSETS,
            ("Derived by the scoring contract", {"fields": DERIVED_FIELDS}),
            ("Provenance", {"fields": PROVENANCE_FIELDS}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: TaskRecord | None = None) -> list:
        return [] if obj is None else [*DERIVED_FIELDS, *PROVENANCE_FIELDS]

    def save_model(
        self, request: HttpRequest, obj: TaskRecord, form: ModelForm, change: bool
    ) -> None:
        """Write through the services that score, classify and keep the rollups exact."""
        assert isinstance(form, TaskRecordForm) and form.task is not None
        if change:
            if not form.has_changed():
                return  # nothing edited: no write, no edit entry in the raw payloads
            record_update(record=obj, task=form.task, source=SOURCE_ADMIN, payload=form.task_data)
        else:
            record, _created = record_create(
                task=form.task, source=SOURCE_ADMIN, payload=form.task_data
            )
            obj.pk = record.pk
            obj._state.adding = False
        obj.refresh_from_db()  # the admin's messages and redirect use the stored record

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        """Links were written by ``save_model``'s service, with the rollups; nothing to add."""

    def delete_model(self, request: HttpRequest, obj: TaskRecord) -> None:
        records_delete(TaskRecord.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        records_delete(queryset)

    @admin.display(boolean=True, description="pass")
    def passed(self, obj: TaskRecord) -> bool:
        return obj.passed

    @admin.display(description="raw source payloads")
    def raw_payloads(self, obj: TaskRecord) -> str:
        return pretty_json(obj.raw)

    @admin.display(description="quality improvement")
    def stored_improvement(self, obj: TaskRecord) -> float | None:
        return obj.quality_improvement

    @admin.display(description="score breakdown")
    def breakdown(self, obj: TaskRecord) -> str:
        return pretty_json(obj.score_breakdown)


# Each record adds 1 to the count of exactly one month rollup row per model, skill and agent it
# names, so summing a name's month rows counts its records exactly without reading the records
# (a join over every record link took 0.3-0.8 s per list page at a million records).
MONTH_ROLLUPS = {
    AIModel: (Rollup, "model"),
    Skill: (SkillRollup, "skill"),
    Agent: (AgentRollup, "agent"),
}


class NamedAdmin(admin.ModelAdmin):
    list_display = ["name", "record_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        table, key = MONTH_ROLLUPS[self.model]
        counts = (
            table.objects.filter(span=Span.MONTH, **{key: OuterRef("pk")})
            .values(key)
            .annotate(n=Sum("count"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(record_count=Coalesce(Subquery(counts), Value(0)))
        )

    @admin.display(ordering="record_count", description="records")
    def record_count(self, obj) -> int:
        return obj.record_count


admin.site.register(AIModel, NamedAdmin)
admin.site.register(Skill, NamedAdmin)
admin.site.register(Agent, NamedAdmin)


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    Media = JsonPanelsMedia
    RUN_FIELDS = ["started_at", "finished_at", "status", "dry_run", "created", "merged", "skipped"]
    list_display = ["id", *RUN_FIELDS, "failed"]
    list_filter = ["status", "dry_run"]
    readonly_fields = [
        *RUN_FIELDS,
        "failed",
        "paths_readable",
        "files_readable",
        "errors_readable",
        "pid",
        "host",
        "heartbeat_at",
        "refresh_pending",
    ]
    exclude = ["paths", "files", "errors"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="paths")
    def paths_readable(self, obj: ImportRun) -> str:
        return pretty_json(obj.paths)

    @admin.display(description="per file")
    def files_readable(self, obj: ImportRun) -> str:
        return pretty_json(obj.files)

    @admin.display(description="errors")
    def errors_readable(self, obj: ImportRun) -> str:
        return pretty_json(obj.errors)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are made by `manage.py create_api_token`, which shows them once

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ApiToken) -> bool:
        return obj.is_active

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = tokens_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token(s).")


@admin.register(PendingSpan)
class PendingSpanAdmin(admin.ModelAdmin):
    """OpenTelemetry spans waiting for their parent (records.recording.otlp): read only."""

    list_display = ["trace_id", "span_id", "received_at", "api_token"]
    readonly_fields = ["trace_id", "span_id", "received_at", "api_token", "span_readable"]
    exclude = ["span"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="span")
    def span_readable(self, obj: PendingSpan) -> str:
        return pretty_json(obj.span)


# Alert rules, their state changes and notifications (records/alerts/admin.py).
from records.alerts import admin as alerts_admin  # noqa: E402, F401
