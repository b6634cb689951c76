"""SIGKILL during a real ``manage.py import_legacy``: the stored records still get their derived
values, from the next import or from ``repair_imports``, and the killed run reads ``interrupted``.

Before, 37,992 of 50,000 records of a killed and rerun import kept ``quality_improvement`` NULL:
the recomputation ran only at the end, the rerun skipped the batches already stored, and the run
stayed "running". Each case imports a few thousand records in time order (so the batches stored
before the kill are the earliest), kills the process with SIGKILL once some batches are stored,
then checks every record against the baseline rule applied directly. SQLite always, PostgreSQL
(a fresh database) when DATABASE_URL points to it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.records.legacy_helpers import chronological_records, derived_mismatches, write_json
from tests.support import live

pytestmark = pytest.mark.slow

RECORDS = 5_000
BATCH = "100"
KILL_AT = 1_000  # records stored when the kill comes
STATE = (
    "import json; from records.models import ImportRun, TaskRecord; "
    "from tests.records.legacy_helpers import RULE_FIELDS; "
    "print(json.dumps({'rows': list(TaskRecord.objects.values(*RULE_FIELDS)), "
    "'runs': list(ImportRun.objects.order_by('pk').values('pk', 'status', 'refresh_pending'))}, "
    "default=str))"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path) -> Iterator[dict[str, str]]:
    server_url = os.environ.get("DATABASE_URL")
    if request.param == "postgresql" and not live.is_postgres(server_url):
        pytest.skip("DATABASE_URL does not point to PostgreSQL")
    with ExitStack() as stack:
        if request.param == "sqlite":
            env = live.sqlite_env(tmp_path / "db")
        else:
            env = stack.enter_context(live.postgres_database(server_url, suffix="crash"))
        live.manage(env, "migrate", "--no-input")
        yield env


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "project" / ".claude-patterns"
    write_json(folder / "performance_records.json", {"records": chronological_records(RECORDS)})
    return folder


def stored_count(env: dict[str, str]) -> int:
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return conn.execute("select count(*) from records_taskrecord").fetchone()[0]
    path = Path(env["PERFSITE_DATA_DIR"]) / "perfsite.sqlite3"
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute("select count(*) from records_taskrecord").fetchone()[0]


def import_and_kill(env: dict[str, str], folder: Path) -> int:
    """Start an import, SIGKILL it once ``KILL_AT`` records are stored; how many were stored."""
    command = [sys.executable, str(live.ROOT / "manage.py"), "import_legacy", str(folder)]
    process = subprocess.Popen(
        [*command, "--batch-size", BATCH, "-v", "0"],
        cwd=live.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        while stored_count(env) < KILL_AT:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import stored nothing for 300 s"
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()  # reaped, as a shell or a supervisor would
    stored = stored_count(env)
    assert KILL_AT <= stored < RECORDS, stored
    return stored


def state(env: dict[str, str]) -> dict:
    return json.loads(live.manage(env, "shell", "-c", STATE).strip().splitlines()[-1])


def killed_state(env: dict[str, str], folder: Path) -> dict:
    import_and_kill(env, folder)
    before = state(env)
    [killed] = before["runs"]
    # What the kill leaves: a run still "running", and records without their derived values,
    # with the note of what to recompute.
    assert killed["status"] == "running"
    assert killed["refresh_pending"]
    assert len(derived_mismatches(before["rows"])) > KILL_AT // 2
    return killed


def test_a_rerun_after_sigkill_recomputes_what_the_killed_run_stored(env, folder):
    killed = killed_state(env, folder)

    output = live.manage(env, "import_legacy", str(folder), "--batch-size", BATCH, "-v", "0")

    after = state(env)
    assert len(after["rows"]) == RECORDS
    assert derived_mismatches(after["rows"]) == []
    runs = {run["pk"]: run for run in after["runs"]}
    assert runs[killed["pk"]]["status"] == "interrupted"
    assert runs[killed["pk"]]["refresh_pending"] is None
    assert f"Import run #{killed['pk']} was interrupted before finishing" in output


def test_repair_imports_after_sigkill_recomputes_and_marks_the_run(env, folder):
    killed = killed_state(env, folder)

    output = live.manage(env, "repair_imports")

    after = state(env)
    assert derived_mismatches(after["rows"]) == []
    assert after["runs"] == [{"pk": killed["pk"], "status": "interrupted", "refresh_pending": None}]
    assert f"Marked import runs interrupted (their process is gone): #{killed['pk']}." in output
    assert "Nothing to repair." in live.manage(env, "repair_imports")
