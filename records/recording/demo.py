"""Realistic demo records for a first look at the dashboard and for benchmarks (bulk writes)."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from records.models import Agent, AIModel, Skill
from records.recording.bulk import JsonText, insert_records
from records.recording.services import names_to_objects
from records.rules.classification import CANONICAL_TYPES
from records.rules.costs import PRICE_SOURCE, Tokens, task_cost
from records.rules.scoring import BASELINE_WINDOW, round1, score_task
from records.stats.rollups import Facts, apply_rollups

DEMO_SPAN = timedelta(days=90)
SOURCE_DEMO = "demo"
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
PROJECTS = ["storefront", "billing-service", "perfsite", "mobile-app"]
BRANCHES = ["main", "main", "feature/search", "fix/login-loop", "refactor/auth"]
SUBJECTS = ["auth", "billing", "dashboard", "importer", "scheduler", "search", "payments", "api"]
TYPE_WEIGHTS = [12, 22, 16, 8, 10, 8, 7, 10, 7]
ISSUES = ["Missing type hints", "Unused import", "Long function", "No test for edge case"]
RECS = ["Add a regression test", "Split the module", "Document the new option"]


@dataclass
class DemoResult:
    created: int
    seconds: float


TEMPLATE_POOL = 4_000
COMPLEXITIES = ["simple", "medium", "medium", "complex"]


def _task_template(rng: random.Random) -> dict:
    """One realistic finished task: the model's strength for its type drives success and quality."""
    task_type = rng.choices(CANONICAL_TYPES, TYPE_WEIGHTS)[0]
    model = rng.choices(list(MODELS), MODEL_WEIGHTS)[0]
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
    return {
        "task_type": task_type,
        "task_label": task_type,
        "description": rng.choice(DESCRIPTIONS[task_type]).format(rng.choice(SUBJECTS)),
        "complexity": rng.choice(COMPLEXITIES),
        "model_name": model,
        "skill_names": skills,
        "agent_names": agents,
        "success": success,
        "quality_score": scores.quality_score,
        "performance_index": scores.performance_index,
        "time_efficiency": scores.time_efficiency,
        "duration_seconds": duration,
        "files_modified": rng.randint(1, 12),
        "lines_changed": rng.randint(5, 600),
        "issues": JsonText(json.dumps(issues)),
        "issues_count": len(issues),
        "recommendations": JsonText(json.dumps(rng.sample(RECS, rng.randint(0, 2)))),
        "score_breakdown": JsonText(json.dumps(scores.breakdown | {"manual": False})),
        **_context(rng, model, duration),
        "source": SOURCE_DEMO,
        "raw": JsonText("[]"),
    }


DEMO_ADVICE = "Perfsite (demo): advice from earlier tasks of this type"


def _context(rng: random.Random, model: str, duration: float) -> dict:
    """Session, project, branch, tokens (about what an agent uses in ``duration`` seconds) and
    the cost genai-prices gives them (none for a model it does not price)."""
    tokens = Tokens(
        input=int(rng.lognormvariate(7.5, 0.6)),
        output=int(duration * rng.uniform(8, 25)),
        cache_read=int(duration * rng.uniform(300, 900)),
        cache_creation=int(rng.lognormvariate(8.5, 0.7)),
    )
    cost = task_cost(model, tokens)
    session = rng.randrange(10**8)
    return {
        "session_id": f"demo-session-{session:08d}",
        # About one turn in four was given Perfsite's advice (no extra draw: the demo's other
        # figures stay as they were), so /compare/?a=advised:yes has something to show.
        "advice": DEMO_ADVICE if session % 4 == 0 else "",
        "project": rng.choice(PROJECTS),
        "git_branch": rng.choice(BRANCHES),
        "input_tokens": tokens.input,
        "output_tokens": tokens.output,
        "cache_read_tokens": tokens.cache_read,
        "cache_creation_tokens": tokens.cache_creation,
        "cost_usd": cost,
        "cost_source": "" if cost is None else PRICE_SOURCE,
    }


def seed_demo(
    *,
    records: int,
    now: datetime | None = None,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Add ``records`` demo records spread over the last 90 days, in bulk batches.

    Tasks are drawn from a pool of a few thousand generated ones (each its own realistic mix of
    type, model, skills, agents and outcome), which keeps a million records to a few minutes.
    """
    started = timezone.now()
    now = now or started
    rng = random.Random(seed)
    model_ids = {name: obj.pk for name, obj in names_to_objects(AIModel, MODELS).items()}
    skill_ids = {
        name: obj.pk
        for name, obj in names_to_objects(Skill, {s for p in SKILLS.values() for s in p}).items()
    }
    agent_ids = {
        name: obj.pk
        for name, obj in names_to_objects(Agent, {a for p in AGENTS.values() for a in p}).items()
    }
    pool = [_task_template(rng) for _ in range(min(records, TEMPLATE_POOL))]
    for template in pool:
        template["model"] = model_ids[template["model_name"]]
        template["skill_ids"] = [skill_ids[name] for name in template["skill_names"]]
        template["agent_ids"] = [agent_ids[name] for name in template["agent_names"]]
    # Times in order, so quality_improvement can follow the per-type baseline rule.
    start, span = now - DEMO_SPAN, DEMO_SPAN.total_seconds()
    offsets = sorted(rng.random() ** 0.8 * span for _ in range(records))
    baselines: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=BASELINE_WINDOW))
    created = 0
    batch: list[dict] = []
    skill_links: dict[str, list[int]] = {}
    agent_links: dict[str, list[int]] = {}

    def flush() -> None:
        nonlocal created
        with transaction.atomic():
            insert_records(batch, skills=skill_links, agents=agent_links)
            apply_rollups(
                Facts(
                    recorded_at=row["recorded_at"],
                    task_type=row["task_type"],
                    model_id=row["model"],
                    auto_generated=row["auto_generated"],
                    success=row["success"],
                    quality_score=row["quality_score"],
                    performance_index=row["performance_index"],
                    time_efficiency=row["time_efficiency"],
                    duration_seconds=row["duration_seconds"],
                    cost_usd=row["cost_usd"],
                    input_tokens=row["input_tokens"],
                    output_tokens=row["output_tokens"],
                    cache_read_tokens=row["cache_read_tokens"],
                    cache_creation_tokens=row["cache_creation_tokens"],
                    project=row["project"],
                    advised=bool(row["advice"]),
                    skill_ids=row["skill_ids"],
                    agent_ids=row["agent_ids"],
                )
                for row in batch
            )
        created += len(batch)
        batch.clear()
        skill_links.clear()
        agent_links.clear()
        if progress:
            progress(created)

    for offset in offsets:
        template = rng.choice(pool)
        recorded_at = start + timedelta(seconds=offset)
        history = baselines[template["task_type"]]
        quality = template["quality_score"]
        improvement = round1(quality - sum(history) / len(history)) if history else None
        history.append(quality)
        record_id = f"demo-{template['task_type']}-{uuid.uuid4().hex[:16]}"
        batch.append(
            template
            | {
                "record_id": record_id,
                "recorded_at": recorded_at,
                "quality_improvement": improvement,
                "auto_generated": rng.random() < 0.75,
                "created_at": started,
            }
        )
        skill_links[record_id] = template["skill_ids"]
        agent_links[record_id] = template["agent_ids"]
        if len(batch) >= BATCH_SIZE:
            flush()
    if batch:
        flush()
    return DemoResult(created=created, seconds=(timezone.now() - started).total_seconds())
