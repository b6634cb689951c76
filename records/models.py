"""Perfsite's data: one row per finished task, the names it aggregates over, and import runs."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from records.rules.classification import CANONICAL_TYPES
from records.rules.scoring import passes

# The nine task types are defined once, by the classification rules; fields offer them as is.
TASK_TYPE_CHOICES = [(name, name.capitalize()) for name in CANONICAL_TYPES]


class Complexity(models.TextChoices):
    SIMPLE = "simple"
    MEDIUM = "medium"
    COMPLEX = "complex"


class NamedEntity(models.Model):
    """A normalised name that records point to, so aggregates group on a key, not on JSON."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AIModel(NamedEntity):
    class Meta(NamedEntity.Meta):
        verbose_name = "AI model"
        verbose_name_plural = "AI models"


class Skill(NamedEntity):
    pass


class Agent(NamedEntity):
    pass


class TaskRecord(models.Model):
    record_id = models.CharField(max_length=200, unique=True)
    recorded_at = models.DateTimeField()
    task_type = models.CharField(max_length=20, choices=TASK_TYPE_CHOICES)
    task_label = models.CharField(
        max_length=200, blank=True, help_text="The raw task label as given, e.g. bug_fix."
    )
    description = models.TextField(blank=True)
    complexity = models.CharField(max_length=20, choices=Complexity.choices, blank=True)
    # No index of its own: record_model_time_idx (model, recorded_at) leads with the model and
    # serves every lookup by model, so a second one only cost each insert (bench_recording.py).
    model = models.ForeignKey(
        AIModel, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    skills = models.ManyToManyField(Skill, through="RecordSkill", related_name="records")
    agents = models.ManyToManyField(Agent, through="RecordAgent", related_name="records")
    success = models.BooleanField(default=True)
    quality_score = models.FloatField()
    performance_index = models.FloatField()
    time_efficiency = models.FloatField(null=True, blank=True)
    quality_improvement = models.FloatField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    files_modified = models.PositiveIntegerField(null=True, blank=True)
    lines_changed = models.PositiveIntegerField(null=True, blank=True)
    issues = models.JSONField(default=list, blank=True)
    issues_count = models.PositiveIntegerField(default=0)
    recommendations = models.JSONField(default=list, blank=True)
    score_breakdown = models.JSONField(default=dict, blank=True)
    auto_generated = models.BooleanField(default=True)
    # Where and with what the agent worked (optional on every door).
    session_id = models.CharField(max_length=200, blank=True, default="")
    project = models.CharField(max_length=200, blank=True, default="")
    git_branch = models.CharField(max_length=200, blank=True, default="")
    # The advice Perfsite gave the agent before this task (the plugin's UserPromptSubmit hook,
    # docs/claude-code.md#advice), as the hook summarised it; empty: no advice was given.
    advice = models.CharField(max_length=1000, blank=True, default="")
    input_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    output_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    cache_read_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    cache_creation_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    cost_usd = models.FloatField(null=True, blank=True)
    cost_source = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="'given', or the price database that computed cost_usd, e.g. genai-prices 0.2.3",
    )
    source = models.CharField(max_length=255, help_text="recorder, api, cli or legacy:<file>")
    raw = models.JSONField(
        default=list,
        blank=True,
        help_text="Every source payload verbatim: a list of {source, payload}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Client record ids are scoped to the token that wrote them: another token (or another door)
    # asking for the same record_id gets 409, never this record (records.recording.services).
    api_token = models.ForeignKey(
        "ApiToken",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="records",
        # No index: nothing looks records up by token but a token's rare deletion, and one more
        # index on every insert costs each recorded task (bench/bench_recording.py).
        db_index=False,
        help_text="The API token that wrote this record; empty for every other door.",
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["-recorded_at", "-id"], name="record_recent_idx"),
            models.Index(fields=["task_type", "recorded_at"], name="record_type_time_idx"),
            models.Index(fields=["model", "recorded_at"], name="record_model_time_idx"),
            models.Index(fields=["auto_generated", "recorded_at"], name="record_auto_time_idx"),
            # Partial: records without a project or session (most doors) add nothing to them.
            models.Index(
                fields=["project", "recorded_at"],
                name="record_project_time_idx",
                condition=~Q(project=""),
            ),
            models.Index(
                fields=["session_id", "recorded_at"],
                name="record_session_time_idx",
                condition=~Q(session_id=""),
            ),
            # Partial: the advised records of a window (compare's advised:yes under a model filter,
            # which TypeRollup's advised key cannot answer, reads them).
            models.Index(
                fields=["recorded_at"],
                name="record_advised_time_idx",
                condition=~Q(advice=""),
            ),
            # Covers the exact median of a window: range on time, durations read from the index.
            models.Index(
                fields=["recorded_at", "duration_seconds"], name="record_time_duration_idx"
            ),
            # The recent records sorted by a score or a duration (?sort=): a page walks the
            # index from its cursor instead of sorting the whole window (dashboard.selectors).
            models.Index(fields=["quality_score", "id"], name="record_quality_sort_idx"),
            models.Index(fields=["performance_index", "id"], name="record_perf_sort_idx"),
            models.Index(fields=["time_efficiency", "id"], name="record_efficiency_sort_idx"),
            models.Index(fields=["duration_seconds", "id"], name="record_duration_sort_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(task_type__in=CANONICAL_TYPES), name="record_task_type_canonical"
            ),
            models.CheckConstraint(
                condition=Q(quality_score__gte=0) & Q(quality_score__lte=100),
                name="record_quality_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.record_id

    @property
    def passed(self) -> bool:
        return passes(self.quality_score)


class RecordSkill(models.Model):
    # No index of its own: record_skill_unique (record, skill) leads with the record.
    record = models.ForeignKey(TaskRecord, on_delete=models.CASCADE, db_index=False)
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "skill"], name="record_skill_unique")
        ]

    def __str__(self) -> str:
        return f"{self.record_id} uses {self.skill_id}"


class RecordAgent(models.Model):
    # No index of its own: record_agent_unique (record, agent) leads with the record.
    record = models.ForeignKey(TaskRecord, on_delete=models.CASCADE, db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["record", "agent"], name="record_agent_unique")
        ]

    def __str__(self) -> str:
        return f"{self.record_id} delegated to {self.agent_id}"


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed", "finished with failures"
        INTERRUPTED = "interrupted", "interrupted (killed or stopped)"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Whether the run's process is still there: its pid on its host, and a heartbeat written with
    # every batch and at least every minute (records.importer.recovery).
    pid = models.PositiveIntegerField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    refresh_pending = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "Task type -> earliest time from which the derived quality_improvement of stored "
            "records still has to be recomputed; written with each batch, cleared when done."
        ),
    )
    paths = models.JSONField(default=list, help_text="What the run was asked to import.")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    created = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    files = models.JSONField(default=list, blank=True, help_text="Per-file counts and notes.")
    errors = models.JSONField(default=list, blank=True, help_text="file, index and reason.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} at {self.started_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A bearer token for the write API; only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    """One failed sign-in, kept while it counts for the login throttle (dashboard.login)."""

    key = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of the username and client address."
    )
    failed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "failed_at"], name="login_failure_key_idx"),
            models.Index(fields=["failed_at"], name="login_failure_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key[:8]}… at {self.failed_at:%Y-%m-%d %H:%M:%S}"


class Span(models.TextChoices):
    HOUR = "h", "hour"
    DAY = "d", "day"
    MONTH = "m", "month"


# Upper bounds (seconds) of the duration buckets kept in Rollup, for the median of long periods.
DURATION_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800)
# Rollup's columns of records per duration bucket: at most each bound, then longer (with one).
BUCKET_FIELDS = (*(f"duration_le_{bound}" for bound in DURATION_BUCKETS), "duration_over")


# RollupBase's float columns (the others are BigIntegerField sums).
SQUARE_COUNTERS = ("quality_sq", "performance_sq", "duration_sq", "cost_sq")


class RollupBase(models.Model):
    """Exact totals of records per key: (span, start, task type, AUTO, project) plus, in every
    table but TypeRollup, the model (and the skill or agent), so long periods sum a few hundred
    rows instead of a million.

    Levels (the reads take the narrowest table that can answer, records.stats.aggregates):
    TypeRollup has no model dimension (the KPIs, trend and task types of a view without a model
    filter: its rows do not grow with the number of models), Rollup adds the model, SkillRollup
    and AgentRollup add the model and a skill or agent. ``project`` (TaskRecord.project, "" when
    none) is part of every key, so ``?project=`` filters every read from rollups like the
    other filters; a record's rows multiply by nothing (a record has one project), but a view
    spread over many projects has a row per project where it had one.

    Each record counts in its hour (span "h"), its UTC day (span "d") and its UTC month (span "m")
    in TypeRollup and Rollup, and in its day and month only in SkillRollup and AgentRollup; a
    period reads whole months, then whole days, then whole hours at its edges, then the records
    (or links) of its partial hours (or days). Scores are sums of tenths (every stored score has
    one decimal) and durations sums of milliseconds: integers, so totals rebuilt from records
    equal the incremental ones exactly. Kept in the same transaction as every write
    (records.stats.rollups).
    """

    span = models.CharField(max_length=1, choices=Span.choices)
    start = models.DateTimeField()
    task_type = models.CharField(max_length=20, choices=TASK_TYPE_CHOICES)
    auto_generated = models.BooleanField()
    project = models.CharField(max_length=200, blank=True, default="")
    count = models.BigIntegerField(default=0)
    success_count = models.BigIntegerField(default=0)
    pass_count = models.BigIntegerField(default=0)
    quality_tenths = models.BigIntegerField(default=0)
    performance_tenths = models.BigIntegerField(default=0)
    efficiency_tenths = models.BigIntegerField(default=0)
    efficiency_count = models.BigIntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)
    duration_count = models.BigIntegerField(default=0)
    # Cost and tokens, for cost per task, per passing task and tokens per task.
    cost_micros = models.BigIntegerField(default=0, help_text="Sum of cost_usd x 10**6.")
    cost_count = models.BigIntegerField(default=0, help_text="Records with a cost.")
    cost_pass_count = models.BigIntegerField(default=0, help_text="Passing records with a cost.")
    tokens_input = models.BigIntegerField(default=0)
    tokens_output = models.BigIntegerField(default=0)
    tokens_cache_read = models.BigIntegerField(default=0)
    tokens_cache_creation = models.BigIntegerField(default=0)
    tokens_count = models.BigIntegerField(default=0, help_text="Records with any token count.")
    # Sums of squares, for the spread of a mean (confidence intervals: records.rules.confidence).
    # Whole numbers in float columns: exact below 2**53, and a hostile value cannot overflow.
    quality_sq = models.FloatField(default=0, help_text="Sum of (quality in tenths)².")
    performance_sq = models.FloatField(default=0, help_text="Sum of (performance in tenths)².")
    duration_sq = models.FloatField(default=0, help_text="Sum of (duration in tenths of s)².")
    cost_sq = models.FloatField(default=0, help_text="Sum of (cost_usd x 10**4)².")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_span_display()} {self.start:%Y-%m-%d %H}h {self.task_type}: {self.count}"


# The key of the levels with a model (Rollup; SkillRollup and AgentRollup add their name).
ROLLUP_MODEL_KEY = ["span", "start", "task_type", "model", "auto_generated", "project"]


class ModelRollupBase(RollupBase):
    """A rollup level keyed by model too.

    Its names are indexed with the time: (model, span, start), and (skill|agent, span, start) in
    the skill and agent levels, not by the name alone. A read of one model's or skill's window
    (a model filter, /compare/) then finds that window's rows; an index on the name alone, which
    SQLite (no statistics) took for it, walked every row the name ever had (108 ms at a million
    records for a week of one skill)."""

    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        abstract = True


class TypeRollup(RollupBase):
    """The level without the model: per (span, start, task type, AUTO, project, advised). Also
    counts records per duration bucket (BUCKET_FIELDS, added below), for medians.

    ``advised``: whether the records' agent was given Perfsite's advice (TaskRecord.advice not
    empty), so that /compare/?a=advised:yes&b=advised:no reads rollups like every other slice
    instead of summing the advised records themselves (a cost that grew with the history)."""

    advised = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["span", "start", "task_type", "auto_generated", "project", "advised"],
                name="type_rollup_key",
            )
        ]


class Rollup(ModelRollupBase):
    """Also counts records per duration bucket (BUCKET_FIELDS, added below), for medians."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=ROLLUP_MODEL_KEY,
                name="rollup_key",
            )
        ]
        indexes = [models.Index(fields=["model", "span", "start"], name="rollup_model_time_idx")]


# One BigIntegerField per name, so the columns cannot drift from DURATION_BUCKETS (a change of
# the bounds is a schema change: makemigrations sees it).
for _name in BUCKET_FIELDS:
    Rollup.add_to_class(_name, models.BigIntegerField(default=0))
    TypeRollup.add_to_class(_name, models.BigIntegerField(default=0))


class SkillRollup(ModelRollupBase):
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[*ROLLUP_MODEL_KEY, "skill"],
                name="skill_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["model", "span", "start"], name="skill_rollup_model_time_idx"),
            models.Index(fields=["skill", "span", "start"], name="skill_rollup_skill_time_idx"),
        ]


class AgentRollup(ModelRollupBase):
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[*ROLLUP_MODEL_KEY, "agent"],
                name="agent_rollup_key",
            )
        ]
        indexes = [
            models.Index(fields=["model", "span", "start"], name="agent_rollup_model_time_idx"),
            models.Index(fields=["agent", "span", "start"], name="agent_rollup_agent_time_idx"),
        ]


class PendingSpan(models.Model):
    """An OpenTelemetry span whose parent has not arrived yet (records.recording.otlp).

    Exporters send a span when it ends, so a long agent run's tool and model spans reach
    Perfsite before the agent's own span, which makes them a task. They wait here until it comes;
    those still waiting after a day are dropped and counted in an import-run row.
    """

    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    api_token = models.ForeignKey(
        "ApiToken", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    received_at = models.DateTimeField()
    span = models.JSONField(help_text="The span as received (records.recording.otlp.genai).")

    class Meta:
        indexes = [
            models.Index(fields=["trace_id"], name="pending_span_trace_idx"),
            models.Index(fields=["received_at"], name="pending_span_time_idx"),
        ]

    def __str__(self) -> str:
        return f"span {self.span_id} of trace {self.trace_id}"


# Alert rules and their history live in records/alerts/ but belong to this app (one migrations
# folder); importing them here registers them.
from records.alerts.models import (  # noqa: E402, F401
    AlertEvent,
    AlertRule,
    AlertSample,
    NotificationAttempt,
)

# --- A search's figures (records.stats.searched) ------------------------------------------------
# Not tables of the database: each connection makes them as TEMPORARY tables the first time a
# search's figures are read, and they vanish with the connection. A row is a copy of what the
# figures read of one of a search's newest matches (records.stats.filters.SEARCH_CAP at most),
# so that the dozen statements of a searched page each read a few thousand narrow rows instead
# of looking every match up again among a million wide records. Field names are TaskRecord's, so
# the aggregates read either with the same expressions. No foreign key constraint: a temporary
# table may not reference a permanent one.


# A copied row's id is its slot * SLOT_SPAN + the record's id: below 2**63 for 2**27 slots per
# process and record ids below 2**36 (68 billion; past them the copy fails).
SLOT_SPAN = 2**36


def slot_ids(slot: int) -> tuple[int, int]:
    """The first and last id a slot's rows may have: a slot is read by this range of its
    primary key, so the temporary tables need no index of their own."""
    return slot * SLOT_SPAN, (slot + 1) * SLOT_SPAN - 1


class SearchedRecord(models.Model):
    # slot * SLOT_SPAN + the TaskRecord's id, given by the copy: unique across slots, and in
    # the order of the records' ids within one, so "-recorded_at, -id" orders a slot as it
    # orders the records. (An auto field for its type: SQLite's rowid, no index of its own.)
    id = models.BigAutoField(primary_key=True)
    slot = models.BigIntegerField(help_text="The search view this row belongs to.")
    source = models.BigIntegerField(help_text="The TaskRecord's id.")
    recorded_at = models.DateTimeField()
    task_type = models.CharField(max_length=20)
    model = models.ForeignKey(
        AIModel, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    success = models.BooleanField()
    quality_score = models.FloatField()
    performance_index = models.FloatField()
    time_efficiency = models.FloatField(null=True)
    duration_seconds = models.FloatField(null=True)
    cost_usd = models.FloatField(null=True)
    input_tokens = models.BigIntegerField(null=True)
    output_tokens = models.BigIntegerField(null=True)
    cache_read_tokens = models.BigIntegerField(null=True)
    cache_creation_tokens = models.BigIntegerField(null=True)
    auto_generated = models.BooleanField()
    project = models.CharField(max_length=200)
    advice = models.CharField(max_length=1000)

    class Meta:
        managed = False
        db_table = "perfsite_searched_record"

    def __str__(self) -> str:
        return f"record {self.source} in search slot {self.slot}"


# And what the record adds to each rollup counter and duration bucket (on PostgreSQL,
# records.stats.searched computes them once, as it copies; see aggregates.counters_copied), so
# that a figure is a plain sum of columns: the rounding of scores to tenths, the squares, the
# buckets, evaluated once per record rather than once per record and statement.
# NULL where the copy does not compute them (SQLite).
for _field in RollupBase._meta.local_fields:
    if _field.name not in {"span", "start", "task_type", "auto_generated", "project"}:
        _name, _path, _args, _kwargs = _field.deconstruct()
        SearchedRecord.add_to_class(_field.name, type(_field)(*_args, **{**_kwargs, "null": True}))
for _name in BUCKET_FIELDS:
    SearchedRecord.add_to_class(_name, models.BigIntegerField(null=True))


class SearchedLink(models.Model):
    """A skill or agent link of a copied record (records.stats.copies)."""

    record = models.ForeignKey(
        SearchedRecord,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        abstract = True
        managed = False


class SearchedSkill(SearchedLink):
    skill = models.ForeignKey(
        Skill, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )

    class Meta(SearchedLink.Meta):
        db_table = "perfsite_searched_skill"

    def __str__(self) -> str:
        return f"{self.record_id} uses {self.skill_id}"


class SearchedAgent(SearchedLink):
    agent = models.ForeignKey(
        Agent, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )

    class Meta(SearchedLink.Meta):
        db_table = "perfsite_searched_agent"

    def __str__(self) -> str:
        return f"{self.record_id} delegated to {self.agent_id}"
