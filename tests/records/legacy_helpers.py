"""Helpers for the import_legacy tests: write legacy folders, run the command, read its output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "legacy"
SAMPLE_COUNTS = {"recorder-v3.7": 21, "debugging-eval": 19, "mixed-formats": 61}


@dataclass
class Result:
    out: str
    err: str
    error: str = ""  # the CommandError message, when the command failed


def run_import(*args: Any, **options: Any) -> Result:
    """Run import_legacy; fail the test if it raised CommandError."""
    out, err = StringIO(), StringIO()
    call_command("import_legacy", *[str(a) for a in args], stdout=out, stderr=err, **options)
    return Result(out.getvalue(), err.getvalue())


def run_failing_import(*args: Any, **options: Any) -> Result:
    """Run import_legacy; the test fails unless it ends with CommandError."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_legacy", *[str(a) for a in args], stdout=out, stderr=err, **options)
    return Result(out.getvalue(), err.getvalue(), str(info.value))


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def patterns_dir(root: Path) -> Path:
    folder = root / ".claude-patterns"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def assessment(assessment_id: str | None, **fields: Any) -> dict[str, Any]:
    """A quality assessment as the old tool wrote it into quality_history.json."""
    record: dict[str, Any] = {
        "timestamp": "2025-10-21T11:28:00Z",
        "task_type": "quality-control",
        "overall_score": 89,
        "breakdown": {"tests_passing": 28, "standards_compliance": 24},
        "details": {"python_files": 3},
        "issues_found": [],
        "recommendations": [],
        "pass": True,
    }
    if assessment_id is not None:
        record = {"assessment_id": assessment_id, **record}
    record.update(fields)
    return record


def quality_history(*records: dict[str, Any]) -> dict[str, Any]:
    return {
        "quality_assessments": list(records),
        "statistics": {"avg_quality_score": 90.0, "total_assessments": len(records)},
        "baselines": {},
        "metadata": {"version": "1.1.0"},
    }


def chronological_records(count: int, *, seed: int = 3) -> list[dict[str, Any]]:
    """``count`` assessments a minute apart in three task types, in time order. Every tenth gives
    its quality_improvement; the others get it from the baseline rule."""
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    records = []
    for n in range(count):
        at = start + timedelta(minutes=n)
        record: dict[str, Any] = {
            "assessment_id": f"chrono-{n:06d}",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "task_type": ("coding", "testing", "debugging")[n % 3],
            "overall_score": rng.randint(50, 100),
        }
        if n % 10 == 9:
            record["quality_improvement"] = float(rng.randint(-5, 5))
        records.append(record)
    return records


# TaskRecord fields that ``derived_mismatches`` reads.
RULE_FIELDS = (
    "id",
    "record_id",
    "task_type",
    "recorded_at",
    "quality_score",
    "quality_improvement",
    "source",
    "score_breakdown",
)


def derived_mismatches(rows: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    """(record_id, stored, by the rule) for every imported record whose derived
    quality_improvement is not what the baseline rule gives: the rule applied here directly
    (quality minus the mean of the previous, strictly earlier, up-to-10 records of its type)."""
    import bisect
    from datetime import datetime

    from records.rules.scoring import BASELINE_WINDOW, quality_improvement

    def when(row: dict[str, Any]) -> datetime:
        at = row["recorded_at"]
        return datetime.fromisoformat(at) if isinstance(at, str) else at

    wrong = []
    by_type: dict[str, list[tuple[datetime, int, dict[str, Any]]]] = {}
    for row in rows:
        by_type.setdefault(row["task_type"], []).append((when(row), row["id"], row))
    for same_type in by_type.values():
        same_type.sort(key=lambda item: item[:2])
        times = [at for at, _pk, _row in same_type]
        for at, _pk, row in same_type:
            given = (row["score_breakdown"] or {}).get("given", [])
            if not row["source"].startswith("legacy:") or "quality_improvement" in given:
                continue
            before = bisect.bisect_left(times, at)  # strictly earlier: not the same instant
            window = same_type[max(0, before - BASELINE_WINDOW) : before]
            expected = quality_improvement(
                row["quality_score"], [r["quality_score"] for *_, r in window]
            )
            if row["quality_improvement"] != expected:
                wrong.append((row["record_id"], row["quality_improvement"], expected))
    return wrong
