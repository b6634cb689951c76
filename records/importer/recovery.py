"""Import runs that did not finish: how to tell, and how to finish what they left undone.

An import writes records batch by batch, one transaction each, and recomputes the derived
``quality_improvement`` (the baseline rule, which depends on every record of a task type) once, at
the end, for each task type it touched from the earliest time it touched. A run killed in between
(SIGKILL, the OOM killer, a reboot) left those records NULL or stale for good, since a rerun skips
them as already stored. So every batch notes, in its own transaction, the task types and earliest
times touched so far in the run's ``refresh_pending``; a run that finishes clears it; and the next
import (or ``manage.py repair_imports``) that finds the note on a run whose process is gone
finishes the recomputation and marks the run ``interrupted``.

Whether a run's process is gone: it is when the run has finished (``finished_at``), when its
heartbeat (``heartbeat_at``: written with every batch and at least every ``HEARTBEAT_EVERY``
seconds) is older than ``STALE_AFTER``, or when it ran on this host (``host``) and its ``pid`` is
no live process, or is this process (which is doing another run). A run on another host counts as
alive while it beats.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone

from records.importer.discovery import LEGACY_PREFIX
from records.importer.writer import refresh_quality_improvements
from records.models import ImportRun, TaskRecord

HOST = socket.gethostname()[:255]
HEARTBEAT_EVERY = 60.0  # seconds
STALE_AFTER = timedelta(minutes=10)  # ten missed heartbeats: the process is gone


@dataclass
class Recovery:
    interrupted: list[int] = field(default_factory=list)  # runs marked interrupted now
    finished: list[int] = field(default_factory=list)  # runs whose recomputation was finished
    improvements: int = 0  # records whose quality_improvement changed

    @property
    def anything(self) -> bool:
        return bool(self.interrupted or self.finished or self.improvements)


def pending_as_json(since_by_type: Mapping[str, datetime]) -> dict[str, str] | None:
    return {t: at.isoformat() for t, at in sorted(since_by_type.items())} or None


def pending_from_json(value: Any) -> dict[str, datetime]:
    if not isinstance(value, dict):
        return {}
    return {str(t): datetime.fromisoformat(at) for t, at in value.items()}


def merge_since(into: dict[str, datetime], more: Mapping[str, datetime]) -> dict[str, datetime]:
    """``into`` with, per task type, the earlier of its time and ``more``'s."""
    for task_type, at in more.items():
        if task_type not in into or at < into[task_type]:
            into[task_type] = at
    return into


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process on this host (a zombie, killed but not yet reaped by
    its parent, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal said it exists
    return state not in ("Z", "X")


def is_gone(run: ImportRun, *, now: datetime) -> bool:
    """Whether the process of ``run`` has stopped (see the module's docstring)."""
    if run.finished_at is not None:
        return True
    if now - (run.heartbeat_at or run.started_at) > STALE_AFTER:
        return True
    if run.pid and run.host == HOST:
        # Our own pid on another run: an earlier process that had it (in a container, each start
        # may get the same pid) is gone; the caller excludes the run this process is doing.
        return run.pid == os.getpid() or not pid_alive(run.pid)
    return False


def recover_unfinished(
    *, exclude: int | None = None, on_progress: Callable[[], None] | None = None
) -> Recovery:
    """Finish what import runs whose process is gone left undone; safe to run at any time.

    Their pending recomputations run as one (per task type from the earliest time any of them
    noted); then each is cleared, and a run still ``running`` becomes ``interrupted``. A run that
    beat again meanwhile (it was not gone after all) keeps its note and its status.
    """
    now = timezone.now()
    candidates = ImportRun.objects.filter(
        Q(status=ImportRun.Status.RUNNING) | Q(refresh_pending__isnull=False)
    ).exclude(pk=exclude)
    gone = [run for run in candidates if is_gone(run, now=now)]
    recovery = Recovery()
    since: dict[str, datetime] = {}
    for run in gone:
        merge_since(since, pending_from_json(run.refresh_pending))
    if since:
        recovery.improvements = refresh_quality_improvements(
            since_by_type=since, on_progress=on_progress
        )
    for run in gone:
        # Compare-and-set on the heartbeat: only a run that has not written since it was read.
        same = ImportRun.objects.filter(pk=run.pk, heartbeat_at=run.heartbeat_at)
        if run.heartbeat_at is None:
            same = ImportRun.objects.filter(pk=run.pk, heartbeat_at__isnull=True)
        if run.refresh_pending is not None and same.update(refresh_pending=None):
            recovery.finished.append(run.pk)
        if same.filter(status=ImportRun.Status.RUNNING).update(status=ImportRun.Status.INTERRUPTED):
            recovery.interrupted.append(run.pk)
    return recovery


@dataclass
class Repair:
    recovery: Recovery
    task_types: int = 0  # task types with imported records, each recomputed in full
    improvements: int = 0  # records whose quality_improvement the full pass changed


def repair_imports() -> Repair:
    """``manage.py repair_imports``: recover unfinished runs, then recompute the derived
    ``quality_improvement`` of every imported record that did not give one, wherever it is NULL or
    stale (for databases whose runs were killed before runs noted what was pending). Writes only
    the values that change, so a second run changes nothing."""
    recovery = recover_unfinished()
    first_by_type = dict(
        TaskRecord.objects.filter(source__startswith=LEGACY_PREFIX)
        .order_by()
        .values("task_type")
        .annotate(first=Min("recorded_at"))
        .values_list("task_type", "first")
    )
    improvements = refresh_quality_improvements(since_by_type=first_by_type)
    return Repair(recovery=recovery, task_types=len(first_by_type), improvements=improvements)
