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
