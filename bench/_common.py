"""Helpers shared by the bench scripts: environments, seeded databases, statistics, the machine."""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


def add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        metavar="URL",
        help="A PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/perfsite_bench: each "
        "database the benchmark needs is a new one on it, named after the URL's database, "
        "dropped afterwards unless kept. Default: DATABASE_URL; without it, SQLite files in a "
        "temporary directory.",
    )


def check_database_url(parser: argparse.ArgumentParser, url: str | None) -> None:
    if url and not live.is_postgres(url):
        parser.error(f"--database-url must name a PostgreSQL server (postgres://...), not {url}")


@dataclass
class BenchDatabase:
    """One database a benchmark measures: a SQLite file in ``directory``, or (``name`` set) a
    PostgreSQL database. ``directory`` holds its logs and files either way."""

    directory: Path
    env: dict[str, str]
    name: str | None = None  # the PostgreSQL database

    @property
    def postgres(self) -> bool:
        return self.name is not None

    def settings(self, base: dict) -> dict:
        """Django DATABASES settings for an in-process connection to it, from ``base``'s."""
        if not self.postgres:
            return {**base, "NAME": str(self.directory / DB_FILE)}
        import dj_database_url

        return {**base, **dj_database_url.parse(self.env["DATABASE_URL"])}


class Databases:
    """Makes the benchmark's databases: SQLite files under ``base``, or new PostgreSQL databases
    on the server of ``server_url`` (dropped by ``close`` unless ``keep``; ``base`` is removed by
    the caller). A ``fixed`` label is a name a later run finds (``exists``) to reuse a seed."""

    def __init__(self, base: Path, server_url: str | None, *, keep: bool = False) -> None:
        self.base, self.server_url, self.keep = base, server_url, keep
        self.made: list[str] = []

    def _admin(self):
        import psycopg

        parts = urlsplit(self.server_url)
        return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)

    def _pg_env(self, name: str) -> dict[str, str]:
        url = urlunsplit(urlsplit(self.server_url)._replace(path=f"/{name}"))
        return live.base_env(DATABASE_URL=url) | PRODUCTION

    def pg_name(self, label: str, *, fixed: bool = False) -> str:
        prefix = urlsplit(self.server_url).path.lstrip("/") or "perfsite"
        name = f"{prefix}_{label}".replace("-", "_")
        return name if fixed else f"{name}_{secrets.token_hex(3)}"

    def exists(self, label: str) -> BenchDatabase | None:
        """A database kept by an earlier run under this label (``fixed`` names), if any."""
        directory = self.base / label
        if not self.server_url:
            return (
                BenchDatabase(directory, bench_env(directory))
                if (directory / DB_FILE).exists()
                else None
            )
        name = self.pg_name(label, fixed=True)
        with self._admin() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        self.made.append(name)
        return BenchDatabase(directory, self._pg_env(name), name)

    def new(self, label: str, *, template: BenchDatabase | None = None, fixed: bool = False):
        """An empty database (or a copy of ``template``); ``fixed``: a name later runs find."""
        directory = self.base / label
        directory.mkdir(parents=True, exist_ok=True)
        if not self.server_url:
            if template is not None:
                copy_file(template.directory / DB_FILE, directory / DB_FILE)
            return BenchDatabase(directory, bench_env(directory))
        name = self.pg_name(label, fixed=fixed)
        copy = f' TEMPLATE "{template.name}"' if template is not None else ""
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
            if template is not None:  # the copy on disk first, as copy_file does for SQLite
                conn.execute("CHECKPOINT")
        self.made.append(name)
        return BenchDatabase(directory, self._pg_env(name), name)

    def close(self) -> None:
        if self.keep or not self.made:
            return
        with self._admin() as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def describe(self) -> str:
        if not self.server_url:
            return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL, IMMEDIATE)"
        with self._admin() as conn:
            return conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]


def seed(db: BenchDatabase, records: int, *, seed: int = 1) -> float:
    """Migrate ``db`` and ``seed_demo`` it; the seed time in seconds (the ``seed_demo``
    process, start-up included)."""
    live.manage(db.env, "migrate", "--no-input")
    started = time.perf_counter()
    if records:
        live.manage(db.env, "seed_demo", "--records", str(records), "--seed", str(seed),
                    timeout=6 * 3600)  # fmt: skip
    seconds = time.perf_counter() - started
    if not db.postgres:
        checkpoint(db.directory)
    return seconds


def count_records(db: BenchDatabase) -> int:
    if not db.postgres:
        return stored_count(db.directory)
    import psycopg

    with psycopg.connect(db.env["DATABASE_URL"]) as conn:
        return conn.execute("select count(*) from records_taskrecord").fetchone()[0]


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
        live.manage(env, "seed_demo", "--records", str(records), "--seed", str(seed),
                    timeout=6 * 3600)  # fmt: skip
    seconds = time.perf_counter() - started
    checkpoint(directory)
    return seconds


def copy_file(source: Path, target: Path) -> None:
    """Copy a database file and wait until it is on disk: a 1M-record copy is 1.7 GB of dirty
    pages, and the first fsync of the measured writes (SQLite's WAL checkpoint) would otherwise
    wait for all of them, a cost of the copy, not of recording."""
    shutil.copy2(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())


def stored_count(directory: Path) -> int:
    with sqlite3.connect(directory / DB_FILE) as conn:
        return conn.execute("select count(*) from records_taskrecord").fetchone()[0]


def copy_of(template: Path, name: str) -> Path:
    target = template.parent / name
    target.mkdir()
    copy_file(template / DB_FILE, target / DB_FILE)
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
