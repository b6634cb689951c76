#!/usr/bin/env python3
"""Benchmark ``manage.py import_legacy``: import rate and peak memory by file size.

For each size it writes a legacy ``.claude-patterns`` folder to a temporary directory
(performance_records.json with N unique records in both record shapes, plus quality_history.json
repeating a tenth of them so that merging is measured too), then imports it in a fresh
subprocess into a fresh database — SQLite, or with ``--database-url`` (default: DATABASE_URL) a
new PostgreSQL database on that server, dropped afterwards — and reads that child's peak RSS
(``ru_maxrss``).

    python bench/bench_import.py                  # 10k and 100k records
    python bench/bench_import.py --million        # and 1M
    python bench/bench_import.py --sizes 5000     # any sizes
    python bench/bench_import.py --database-url postgres://postgres@127.0.0.1:5432/perfsite_bench

Prints one JSON document, then a short table. Needs nothing but this checkout's dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Databases, add_database_url, check_database_url, count_records

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "manage.py"
TYPES = ["refactoring", "coding", "bug-fix", "documentation", "testing", "feature-implementation"]
MODELS = ["claude-sonnet-4-5", "GLM-4.6", "Claude Opus 4.1", "glm 4.6"]
START = datetime(2025, 1, 1, tzinfo=UTC)


def recorder_record(n: int, rng: random.Random) -> dict:
    at = START + timedelta(seconds=37 * n)
    task_type = rng.choice(TYPES)
    return {
        "assessment_id": f"auto-{task_type}-{n:08d}",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "task_type": task_type,
        "overall_score": rng.randint(60, 100),
        "breakdown": {"tests_passing": 30, "standards_compliance": 22, "documentation": 18},
        "details": {
            "auto_recorded": True,
            "model_used": rng.choice(MODELS),
            "task_description": f"{task_type} task number {n} in the billing module",
            "task_complexity": rng.choice(["simple", "medium", "high"]),
            "duration_seconds": rng.randint(30, 4000),
            "skills_used": rng.sample(
                ["code-analysis", "quality-standards", "pattern-learning"], 2
            ),
            "agents_delegated": rng.sample(["code-analyzer", "test-engineer", "doc-writer"], 1),
            "files_modified": rng.randint(1, 12),
            "lines_changed": rng.randint(5, 800),
            "success": rng.random() > 0.1,
            "quality_improvement": rng.randint(-5, 10),
        },
        "issues_found": ["Long function"] if rng.random() < 0.3 else [],
        "recommendations": ["Add a regression test"],
        "pass": True,
        "auto_generated": True,
    }


def flat_record(n: int, rng: random.Random) -> dict:
    at = START + timedelta(seconds=37 * n, microseconds=n % 1_000_000)
    return {
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
        "task_type": rng.choice(TYPES),
        "quality_score": rng.randint(60, 100),
        "duration": rng.randint(30, 4000),
        "success": rng.random() > 0.1,
        "skills_used": ["pattern-learning"],
        "auto_generated": True,
    }


def write_folder(folder: Path, size: int, seed: int = 7) -> dict:
    """Write the legacy files record by record (the generator never holds them all)."""
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    repeated = 0
    perf = folder / "performance_records.json"
    quality = folder / "quality_history.json"
    with perf.open("w", encoding="utf-8") as records, quality.open("w", encoding="utf-8") as qh:
        records.write('{"version": "2.0.0", "records": [\n')
        qh.write('{"quality_assessments": [\n')
        for n in range(size):
            record = recorder_record(n, rng) if n % 5 else flat_record(n, rng)
            records.write((",\n" if n else "") + json.dumps(record))
            if n % 10 == 1:  # a tenth appear again, as the old tool wrote them, in the history
                qh.write((",\n" if repeated else "") + json.dumps(record))
                repeated += 1
        records.write(f'\n], "metadata": {{"total_records": {size}}}}}\n')
        note = "x" * 1_100_000  # a megabyte string, as real quality histories carry
        qh.write(f'\n], "statistics": {{}}, "metadata": {{"note": "{note}"}}}}\n')
    return {
        "files_bytes": perf.stat().st_size + quality.stat().st_size,
        "payloads": size + repeated,
    }


def run_child(args: list[str], env: dict) -> tuple[float, int, str]:
    """Run ``manage.py args`` in a fresh process: (seconds, peak RSS in KiB, output)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), *args], env=env, stdout=output, stderr=subprocess.STDOUT
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({process.returncode}):\n{text}")
    return seconds, usage.ru_maxrss, text  # ru_maxrss is KiB on Linux


def bench_size(size: int, workdir: Path, databases: Databases) -> dict:
    folder = workdir / f"legacy-{size}" / ".claude-patterns"
    generated = write_folder(folder, size)
    db = databases.new(f"import-{size}")
    env = db.env | {"PYTHONHASHSEED": "0"}
    run_child(["migrate", "--no-input", "-v", "0"], env)
    seconds, peak_kib, _output = run_child(["import_legacy", str(folder), "-v", "0"], env)
    stored = count_records(db)
    if stored != size:
        raise SystemExit(f"expected {size} records after the import, found {stored}")
    return {
        "records": size,
        "payloads": generated["payloads"],
        "file_mib": round(generated["files_bytes"] / 2**20, 1),
        "seconds": round(seconds, 2),
        "records_per_second": round(size / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help="also import 1,000,000 records")
    add_database_url(parser)
    args = parser.parse_args()
    check_database_url(parser, args.database_url)
    sizes = [*args.sizes, *([1_000_000] if args.million else [])]

    with tempfile.TemporaryDirectory(prefix="perfsite-bench-") as tmp:
        databases = Databases(Path(tmp), args.database_url)
        try:
            described = databases.describe()
            results = [bench_size(size, Path(tmp), databases) for size in sizes]
        finally:
            databases.close()

    smallest = results[0]
    for result in results:
        result["peak_rss_vs_smallest"] = round(result["peak_rss_mib"] / smallest["peak_rss_mib"], 2)
        result["seconds_per_1k_vs_smallest"] = round(
            (result["seconds"] / result["records"]) / (smallest["seconds"] / smallest["records"]), 2
        )
    print(
        json.dumps(
            {
                "benchmark": "import_legacy",
                "database": f"{described} (fresh, per size)",
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
    )
    print()
    widths = {"records": 9, "file MiB": 8, "seconds": 8, "records/s": 9, "peak RSS MiB": 12}
    print("  ".join(f"{name:>{width}}" for name, width in widths.items()) + "  ratio")
    for r in results:
        print(
            f"{r['records']:>9,}  {r['file_mib']:>8}  {r['seconds']:>8}  "
            f"{r['records_per_second']:>9,}  {r['peak_rss_mib']:>12}  {r['peak_rss_vs_smallest']}"
        )


if __name__ == "__main__":
    main()
