"""Helpers shared by the bench scripts: environments, seeded databases, statistics, the machine."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import live  # noqa: E402

DB_FILE = "perfsite.sqlite3"
# Production-like: DEBUG off (no SQL logging), a throwaway secret key. Plain HTTP on loopback,
# as behind a TLS-terminating proxy: without this, production settings redirect every request
# to https:// and the HTTP benchmark's clients would never reach the API.
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-" + os.urandom(24).hex(),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
}


def bench_env(directory: Path) -> dict[str, str]:
    """A production-like environment whose SQLite database is ``directory/perfsite.sqlite3``."""
    return live.sqlite_env(directory) | PRODUCTION


def checkpoint(directory: Path) -> None:
    """Fold the WAL into the main file so that copying the one file copies the whole database."""
    with sqlite3.connect(directory / DB_FILE) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seed_database(directory: Path, records: int, *, seed: int = 1) -> float:
    """Migrate a fresh SQLite database in ``directory`` and ``seed_demo`` it; returns the seed
    time in seconds (the ``seed_demo`` process, start-up included)."""
    directory.mkdir(parents=True, exist_ok=True)
    env = bench_env(directory)
    live.manage(env, "migrate", "--no-input")
    started = time.perf_counter()
    if records:
        live.manage(env, "seed_demo", "--records", str(records), "--seed", str(seed), timeout=3600)
    seconds = time.perf_counter() - started
    checkpoint(directory)
    return seconds


def stored_count(directory: Path) -> int:
    with sqlite3.connect(directory / DB_FILE) as conn:
        return conn.execute("select count(*) from records_taskrecord").fetchone()[0]


def copy_of(template: Path, name: str) -> Path:
    target = template.parent / name
    target.mkdir()
    shutil.copy2(template / DB_FILE, target / DB_FILE)
    return target


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` 0-1) of the values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "n": len(ms),
    }


def machine() -> dict:
    meminfo = Path("/proc/meminfo")
    total_mib = None
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_mib = int(line.split()[1]) // 1024
    return {
        "cpus": os.cpu_count(),
        "memory_mib": total_mib,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def git_revision() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
