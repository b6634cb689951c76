"""factory-boy factories shared by every test module."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from records.models import Agent, AIModel, ApiToken, ImportRun, Skill, TaskRecord
from records.rules.scoring import score_task
from records.stats.rollups import Facts, apply_rollups


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel
        django_get_or_create = ("name",)

    name = factory.Iterator(["Claude Sonnet 4.5", "GLM 4.6", "Claude Opus 4.1"])


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"skill-{n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"agent-{n}")


class TaskRecordFactory(factory.django.DjangoModelFactory):
    """A stored record whose scores follow the contract from its success and duration.

    ``skills=[...]`` and ``agents=[...]`` take names. Pass ``quality_score`` to force a score.
    """

    class Meta:
        model = TaskRecord
        skip_postgeneration_save = True

    class Params:
        minutes_ago = 5
        manual = factory.Trait(auto_generated=False, source="api")

    record_id = factory.Sequence(lambda n: f"test-record-{n:06d}")
    recorded_at = factory.LazyAttribute(lambda o: timezone.now() - timedelta(minutes=o.minutes_ago))
    task_type = "coding"
    task_label = factory.LazyAttribute(lambda o: o.task_type)
    description = factory.Sequence(lambda n: f"Implement feature number {n}")
    complexity = "medium"
    model = factory.SubFactory(AIModelFactory, name="Claude Sonnet 4.5")
    success = True
    duration_seconds = 300.0
    files_modified = 3
    lines_changed = 120
    issues = factory.LazyFunction(list)
    issues_count = factory.LazyAttribute(lambda o: len(o.issues))
    recommendations = factory.LazyFunction(list)
    auto_generated = True
    source = "recorder"
    raw = factory.LazyFunction(list)
    quality_score = factory.LazyAttribute(
        lambda o: score_task(success=o.success, duration_seconds=o.duration_seconds).quality_score
    )
    time_efficiency = factory.LazyAttribute(
        lambda o: score_task(duration_seconds=o.duration_seconds).time_efficiency
    )
    performance_index = factory.LazyAttribute(
        lambda o: (
            score_task(
                success=o.success,
                duration_seconds=o.duration_seconds,
                explicit_quality=o.quality_score,
            ).performance_index
        )
    )
    quality_improvement = None
    score_breakdown = factory.LazyFunction(dict)

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if create and extracted:
            self.skills.add(*[SkillFactory(name=name) for name in extracted])

    @factory.post_generation
    def agents(self, create, extracted, **kwargs):
        if create and extracted:
            self.agents.add(*[AgentFactory(name=name) for name in extracted])

    @factory.post_generation
    def rollups(self, create, extracted, **kwargs):
        """Count the record in the rollups, as every real write path does."""
        if create:
            skill_ids = list(self.skills.values_list("pk", flat=True))
            agent_ids = list(self.agents.values_list("pk", flat=True))
            apply_rollups([Facts.of(self, skill_ids, agent_ids)])


class ImportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRun

    paths = factory.LazyFunction(lambda: [".claude-patterns"])
    status = ImportRun.Status.OK


class ApiTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiToken

    name = factory.Sequence(lambda n: f"agent-host-{n}")
    key_hash = factory.Sequence(lambda n: f"{n:064x}")
    prefix = factory.Sequence(lambda n: f"{n:08x}")


def record_scored(task_type, model, score, *, skills=(), agents=(), minutes_ago=60, success=True):
    """Record a task with a given score through the public recorder API; returns its record_id
    (insights tests: rollups, baselines and names are made the way real recordings make them)."""
    from records.recorder import record_task_performance

    return record_task_performance(
        {
            "task_type": task_type,
            "description": f"{task_type} task",
            "overall_score": score,
            "success": success,
            "skills_used": list(skills),
            "agents_delegated": list(agents),
            "recorded_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
        },
        model,
    )
