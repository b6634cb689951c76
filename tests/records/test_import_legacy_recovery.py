"""An import that stops part-way: the records it stored still get their derived values.

``quality_improvement`` (the baseline rule) is recomputed once, when an import ends. A run that did
not end left the records it had stored NULL (or stale) for good: a rerun skips them as already
stored. Every batch now notes in its ImportRun, in its own transaction, what it touched; the next
import, or ``repair_imports``, finishes the recomputation of a run whose process is gone and marks
it ``interrupted``. The real SIGKILL is in test_import_legacy_crash.py (slow).
"""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from records.importer import service
from records.importer.recovery import HOST, STALE_AFTER
from records.models import ImportRun, TaskRecord
from tests.records.legacy_helpers import (
    RULE_FIELDS,
    chronological_records,
    derived_mismatches,
    patterns_dir,
    run_import,
    write_json,
)

pytestmark = pytest.mark.django_db

RECORDS = 60
BATCH = 10


@pytest.fixture
def folder(tmp_path):
    folder = patterns_dir(tmp_path)
    write_json(folder / "performance_records.json", {"records": chronological_records(RECORDS)})
    return folder


def mismatches() -> list:
    return derived_mismatches(list(TaskRecord.objects.values(*RULE_FIELDS)))


def stop_after_batches(monkeypatch, batches: int) -> None:
    """Ctrl-C right after the ``batches``-th batch committed."""
    real = service.apply_batch
    calls = []

    def apply_then_stop(tasks, **kwargs):
        result = real(tasks, **kwargs)
        calls.append(1)
        if len(calls) == batches:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(service, "apply_batch", apply_then_stop)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()  # reaped: no process has this pid now
    return process.pid


def test_a_clean_import_derives_every_value(folder):
    run_import(folder, batch_size=BATCH)

    assert TaskRecord.objects.count() == RECORDS
    assert mismatches() == []
    run = ImportRun.objects.get()
    assert (run.status, run.refresh_pending, run.pid, run.host) == ("ok", None, os.getpid(), HOST)


def test_a_stopped_run_notes_what_it_stored_and_the_next_import_recomputes_it(folder, monkeypatch):
    stop_after_batches(monkeypatch, 3)
    with pytest.raises(CommandError, match="Import interrupted"):
        call_command("import_legacy", str(folder), batch_size=BATCH, stdout=StringIO())
    monkeypatch.undo()

    stopped = ImportRun.objects.get()
    assert stopped.status == "interrupted"
    assert TaskRecord.objects.count() == 3 * BATCH
    assert set(stopped.refresh_pending) == {"coding", "testing", "debugging"}
    assert TaskRecord.objects.filter(quality_improvement__isnull=True).count() > 20

    result = run_import(folder, batch_size=BATCH)

    assert TaskRecord.objects.count() == RECORDS
    assert mismatches() == []
    stopped.refresh_from_db()
    assert stopped.refresh_pending is None
    assert f"Import run #{stopped.pk} was interrupted before finishing" in result.out


def test_a_killed_run_still_running_in_the_table_is_marked_interrupted(folder, monkeypatch):
    """As SIGKILL leaves it: status running, no finish, its process gone."""
    stop_after_batches(monkeypatch, 2)
    with pytest.raises(CommandError):
        call_command("import_legacy", str(folder), batch_size=BATCH, stdout=StringIO())
    monkeypatch.undo()
    ImportRun.objects.update(status="running", finished_at=None, pid=dead_pid())
    killed = ImportRun.objects.get()

    run_import(folder, batch_size=BATCH)

    killed.refresh_from_db()
    assert (killed.status, killed.refresh_pending) == ("interrupted", None)
    assert mismatches() == []


@pytest.fixture
def live_pid():
    """The pid of a process that runs through the test (not this one)."""
    process = subprocess.Popen(["sleep", "120"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_run_whose_process_is_alive_is_left_alone(folder, live_pid):
    alive = ImportRun.objects.create(
        status="running",
        pid=live_pid,
        host=HOST,
        heartbeat_at=timezone.now(),
        refresh_pending={"coding": "2025-03-01T00:00:00+00:00"},
    )

    run_import(folder, batch_size=BATCH)

    alive.refresh_from_db()
    assert alive.status == "running"
    assert alive.refresh_pending == {"coding": "2025-03-01T00:00:00+00:00"}


def test_a_run_that_stopped_beating_is_gone_even_if_its_pid_lives(folder, live_pid):
    """The pid may be reused by another process; a heartbeat older than STALE_AFTER decides."""
    stale = ImportRun.objects.create(status="running", pid=live_pid, host=HOST)
    ImportRun.objects.filter(pk=stale.pk).update(
        heartbeat_at=timezone.now() - STALE_AFTER - timedelta(minutes=1)
    )
    elsewhere = ImportRun.objects.create(
        status="running", pid=1, host="another-host", heartbeat_at=timezone.now()
    )

    run_import(folder, batch_size=BATCH)

    stale.refresh_from_db()
    elsewhere.refresh_from_db()
    assert stale.status == "interrupted"
    assert elsewhere.status == "running"  # on another host, beating: trusted


def test_a_run_with_this_process_pid_is_an_earlier_process(folder):
    """In a container every start may get the same pid: another run with ours is not alive."""
    earlier = ImportRun.objects.create(
        status="running", pid=os.getpid(), host=HOST, heartbeat_at=timezone.now()
    )

    run_import(folder, batch_size=BATCH)

    earlier.refresh_from_db()
    assert earlier.status == "interrupted"


def test_repair_imports_fixes_a_database_whose_runs_noted_nothing(folder):
    """Runs killed before runs kept notes: NULL and stale values, a run stuck at running."""
    run_import(folder, batch_size=BATCH)
    derived = TaskRecord.objects.exclude(record_id__endswith="9")  # every tenth gave its own
    derived.filter(record_id__lt="chrono-000030").update(quality_improvement=None)
    derived.filter(record_id__gte="chrono-000030").update(quality_improvement=42.0)
    old = ImportRun.objects.create(status="running")  # no pid, host, heartbeat or note
    ImportRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=1))
    assert len(mismatches()) > 40

    out = StringIO()
    call_command("repair_imports", stdout=out)

    assert mismatches() == []
    old.refresh_from_db()
    assert old.status == "interrupted"
    # Given values are kept as given.
    given = TaskRecord.objects.get(record_id="chrono-000009")
    assert given.quality_improvement == chronological_records(10)[9]["quality_improvement"]
    text = out.getvalue()
    assert f"Marked import runs interrupted (their process is gone): #{old.pk}." in text
    assert "in 3 task types" in text

    again = StringIO()
    call_command("repair_imports", stdout=again)
    assert "Nothing to repair." in again.getvalue()
    assert ": 0 were NULL or stale" in again.getvalue()


def test_interrupted_runs_are_shown_as_such_in_the_admin(admin_client, folder, monkeypatch):
    stop_after_batches(monkeypatch, 1)
    with pytest.raises(CommandError):
        call_command("import_legacy", str(folder), batch_size=BATCH, stdout=StringIO())

    page = admin_client.get("/admin/records/importrun/")
    assert "interrupted (killed or stopped)" in page.content.decode()
    filtered = admin_client.get("/admin/records/importrun/?status__exact=interrupted")
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
