"""Realistic demo records for a first look at the dashboard and for benchmarks (bulk writes)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from records.classification import CANONICAL_TYPES
from records.models import Agent, AIModel, RecordAgent, RecordSkill, Skill, TaskRecord
from records.scoring import BASELINE_WINDOW, round1, score_task
from records.services import names_to_objects

DEMO_SPAN = timedelta(days=90)
BATCH_SIZE = 5_000

# Each model has a strength per task type, so the insights have something true to find.
MODELS = {
    "Claude Sonnet 4.5": {"default": 0.86, "refactoring": 0.93, "coding": 0.91, "testing": 0.9},
    "Claude Opus 4.1": {"default": 0.88, "debugging": 0.95, "analysis": 0.94, "optimization": 0.92},
    "GLM 4.6": {"default": 0.78, "documentation": 0.9, "validation": 0.85, "debugging": 0.7},
    "GPT-5": {"default": 0.82, "coding": 0.88, "general": 0.86, "documentation": 0.8},
}
MODEL_WEIGHTS = [0.4, 0.2, 0.3, 0.1]

SKILLS = {
    "refactoring": ["code-analysis", "pattern-learning", "quality-standards"],
    "coding": ["code-analysis", "pattern-learning", "testing-strategies"],
    "debugging": ["code-analysis", "validation-standards", "pattern-learning"],
    "documentation": ["documentation-best-practices", "pattern-learning"],
    "testing": ["testing-strategies", "quality-standards"],
    "analysis": ["code-analysis", "security-patterns", "pattern-learning"],
    "optimization": ["performance-scaling", "code-analysis"],
    "validation": ["validation-standards", "quality-standards", "security-patterns"],
    "general": ["pattern-learning"],
}
AGENTS = {
    "refactoring": ["code-analyzer", "quality-controller"],
    "coding": ["code-analyzer", "test-engineer"],
    "debugging": ["code-analyzer", "validation-controller"],
    "documentation": ["documentation-generator"],
    "testing": ["test-engineer", "quality-controller"],
    "analysis": ["code-analyzer", "security-auditor"],
    "optimization": ["performance-optimizer", "code-analyzer"],
    "validation": ["validation-controller", "quality-controller"],
    "general": ["learning-engine"],
}
DESCRIPTIONS = {
    "refactoring": ["Refactor the {} module into smaller functions", "Extract a service from {}"],
    "coding": ["Implement {} endpoint with pagination", "Add {} support to the CLI"],
    "debugging": ["Fix crash in {} when the input is empty", "Fix race condition in {}"],
    "documentation": ["Document the {} API in the README", "Write a guide for {}"],
    "testing": ["Add unit tests for {}", "Raise test coverage of {} to 90%"],
    "analysis": ["Analyze the dependency graph of {}", "Review {} for security problems"],
    "optimization": ["Optimize the {} query that runs on every page", "Speed up {} start-up"],
    "validation": ["Validate the {} configuration against the schema", "Verify {} compliance"],
    "general": ["Update the {} release checklist", "Tidy the {} workspace"],
}
SUBJECTS = ["auth", "billing", "dashboard", "importer", "scheduler", "search", "payments", "api"]
TYPE_WEIGHTS = [12, 22, 16, 8, 10, 8, 7, 10, 7]
ISSUES = ["Missing type hints", "Unused import", "Long function", "No test for edge case"]
RECS = ["Add a regression test", "Split the module", "Document the new option"]


@dataclass
class DemoResult:
    created: int
    seconds: float


def _records(count: int, now: datetime, rng: random.Random) -> Iterator[dict]:
    start = now - DEMO_SPAN
    span = DEMO_SPAN.total_seconds()
    # Sorted times so that quality_improvement can follow the per-type baseline rule.
    offsets = sorted(rng.random() ** 0.8 * span for _ in range(count))
    models = list(MODELS)
    for offset in offsets:
        task_type = rng.choices(CANONICAL_TYPES, TYPE_WEIGHTS)[0]
        model = rng.choices(models, MODEL_WEIGHTS)[0]
        skill_pool = SKILLS[task_type]
        skills = rng.sample(skill_pool, rng.randint(1, len(skill_pool)))
        agents = rng.sample(AGENTS[task_type], rng.randint(0, len(AGENTS[task_type])))
        strength = MODELS[model].get(task_type, MODELS[model]["default"])
        strength += 0.03 * ("pattern-learning" in skills) + 0.02 * len(agents)
        success = rng.random() < strength
        issues = rng.sample(ISSUES, min(len(ISSUES), max(0, int(rng.gauss(4 * (1 - strength), 1)))))
        duration = round(rng.lognormvariate(6.0 if success else 6.6, 0.8), 1)
        scores = score_task(
            success=success,
            issues_count=len(issues),
            duration_seconds=duration,
            best_practices_followed=rng.random() < strength,
            documentation_updated=task_type == "documentation" or rng.random() < 0.3,
        )
        yield {
            "recorded_at": start + timedelta(seconds=offset),
            "task_type": task_type,
            "description": rng.choice(DESCRIPTIONS[task_type]).format(rng.choice(SUBJECTS)),
            "model": model,
            "skills": skills,
            "agents": agents,
            "success": success,
            "issues": issues,
            "duration": duration,
            "scores": scores,
            "auto": rng.random() < 0.75,
            "complexity": rng.choice(["simple", "medium", "medium", "complex"]),
            "files": rng.randint(1, 12),
            "lines": rng.randint(5, 600),
            "recs": rng.sample(RECS, rng.randint(0, 2)),
        }


def seed_demo(
    *,
    records: int,
    now: datetime | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Add ``records`` demo records spread over the last 90 days, in bulk batches."""
    started = timezone.now()
    now = now or started
    rng = random.Random(seed)
    model_objs = names_to_objects(AIModel, MODELS)
    skill_objs = names_to_objects(Skill, {s for pool in SKILLS.values() for s in pool})
    agent_objs = names_to_objects(Agent, {a for pool in AGENTS.values() for a in pool})
    baselines: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=BASELINE_WINDOW))
    created = 0
    batch: list[tuple[TaskRecord, list[str], list[str]]] = []

    def flush() -> None:
        nonlocal created
        if not batch:
            return
        with transaction.atomic():
            rows = TaskRecord.objects.bulk_create([record for record, _, _ in batch])
            RecordSkill.objects.bulk_create(
                [
                    RecordSkill(record=r, skill=skill_objs[n])
                    for r, (_, s, _) in zip(rows, batch, strict=True)
                    for n in s
                ]
            )
            RecordAgent.objects.bulk_create(
                [
                    RecordAgent(record=r, agent=agent_objs[n])
                    for r, (_, _, a) in zip(rows, batch, strict=True)
                    for n in a
                ]
            )
        created += len(batch)
        batch.clear()
        if progress:
            progress(created)

    for item in _records(records, now, rng):
        scores = item["scores"]
        history = baselines[item["task_type"]]
        improvement = (
            round1(scores.quality_score - sum(history) / len(history)) if history else None
        )
        history.append(scores.quality_score)
        record = TaskRecord(
            record_id=f"demo-{item['task_type']}-{item['recorded_at']:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}",
            recorded_at=item["recorded_at"],
            task_type=item["task_type"],
            task_label=item["task_type"],
            description=item["description"],
            complexity=item["complexity"],
            model=model_objs[item["model"]],
            success=item["success"],
            quality_score=scores.quality_score,
            performance_index=scores.performance_index,
            time_efficiency=scores.time_efficiency,
            quality_improvement=improvement,
            duration_seconds=item["duration"],
            files_modified=item["files"],
            lines_changed=item["lines"],
            issues=item["issues"],
            issues_count=len(item["issues"]),
            recommendations=item["recs"],
            score_breakdown=scores.breakdown | {"manual": False},
            auto_generated=item["auto"],
            source="demo",
            raw=[],
        )
        batch.append((record, item["skills"], item["agents"]))
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    return DemoResult(created=created, seconds=(timezone.now() - started).total_seconds())
