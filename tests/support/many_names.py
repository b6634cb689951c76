"""Records under many distinct model, skill and agent names, written in bulk (cardinality tests
and ``bench/bench_cardinality.py``).

Each task is validated and scored by the recording doors' own schema (``clean_task_data``,
``stored_fields``), then stored the way ``seed_demo`` stores demo records: names fetched or created
in a few queries, rows inserted with one prepared statement, rollups applied in the same
transaction. Hundreds of names take a fraction of a second instead of a recording per name.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction

from records.models import Agent, AIModel, Skill
from records.recording.bulk import insert_records
from records.recording.schema import clean_task_data, stored_fields
from records.recording.services import names_to_objects
from records.rules.classification import CANONICAL_TYPES
from records.stats.rollups import Facts, apply_rollups

SHARED_SKILL = "shared-skill"
SOURCE = "cardinality"
BATCH = 5_000


def model_name(i: int) -> str:
    return f"model-{i:05d}"


def skill_name(i: int) -> str:
    return f"skill-{i:05d}"


def agent_name(i: int) -> str:
    return f"agent-{i:05d}"


def record_many_names(
    *,
    names: range,
    now: datetime,
    records: int | None = None,
    span: timedelta = timedelta(days=7),
) -> int:
    """Store ``records`` tasks (default: one per name), task j using name ``names[j % len]``:
    model-i with skill-i, the shared skill and agent-i, task types in turn, spread evenly over
    ``span`` before ``now``."""
    count = len(names) if records is None else records
    step = span / max(count, 1)
    tasks = []
    for j in range(count):
        i = names[j % len(names)]
        task = clean_task_data(
            {
                "task_type": CANONICAL_TYPES[(j + i) % len(CANONICAL_TYPES)],
                "description": f"cardinality task {j}",
                "overall_score": 40 + (j * 7 + i) % 60,
                "success": (j + i) % 4 != 0,
                "duration": 30 + (j * 13) % 900,
                "skills_used": [skill_name(i), SHARED_SKILL],
                "agents_delegated": [agent_name(i)],
            },
            model_name(i),
        )
        tasks.append((now - step * j - timedelta(seconds=1), task))
    model_ids = _ids(AIModel, {t.model for _, t in tasks})
    skill_ids = _ids(Skill, {s for _, t in tasks for s in t.skills})
    agent_ids = _ids(Agent, {a for _, t in tasks for a in t.agents})
    for start in range(0, count, BATCH):
        rows, facts, skills, agents = [], [], {}, {}
        for at, task in tasks[start : start + BATCH]:
            columns = stored_fields(task, auto_default=True)
            record_id = f"{SOURCE}-{uuid.uuid4().hex}"
            row = {
                **columns,
                "record_id": record_id,
                "recorded_at": at,
                "model": model_ids[task.model],
                "quality_improvement": None,
                "source": SOURCE,
                "raw": [],
                "created_at": now,
            }
            rows.append(row)
            skills[record_id] = [skill_ids[s] for s in task.skills]
            agents[record_id] = [agent_ids[a] for a in task.agents]
            facts.append(
                Facts(
                    recorded_at=at,
                    task_type=row["task_type"],
                    model_id=row["model"],
                    auto_generated=row["auto_generated"],
                    success=row["success"],
                    quality_score=row["quality_score"],
                    performance_index=row["performance_index"],
                    time_efficiency=row["time_efficiency"],
                    duration_seconds=row["duration_seconds"],
                    skill_ids=skills[record_id],
                    agent_ids=agents[record_id],
                )
            )
        with transaction.atomic():
            insert_records(rows, skills=skills, agents=agents)
            apply_rollups(facts)
    return count


def _ids(model, names: set[str]) -> dict[str, int]:
    """Ids of ``names`` (created when missing), in chunks: a query's parameters are limited."""
    ordered = sorted(names)
    found: dict[str, int] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update({name: obj.pk for name, obj in names_to_objects(model, chunk).items()})
    return found
