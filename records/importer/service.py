"""``legacy_import``: read legacy files, normalise, write in batches, keep an ImportRun row."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from django.db import DatabaseError, reset_queries, transaction
from django.utils import timezone

from records.importer.discovery import Kind, LegacyFile, discover
from records.importer.normalise import LegacyTask, RecordError, normalise_payload
from records.importer.printable import printable
from records.importer.reading import (
    FileLayout,
    FileReadError,
    TooDeep,
    inspect_file,
    iter_records,
)
from records.importer.recovery import (
    HEARTBEAT_EVERY,
    HOST,
    Recovery,
    merge_since,
    pending_as_json,
    recover_unfinished,
)
from records.importer.restore import (
    ExportedRecord,
    ExportReadError,
    RowError,
    check_header,
    exported_record,
    iter_lines,
)
from records.importer.writer import (
    BatchResult,
    apply_batch,
    apply_exported,
    refresh_quality_improvements,
)
from records.models import ImportRun

logger = logging.getLogger(__name__)

BATCH_SIZE = 1_000
# Problems kept (printed, stored on the ImportRun); beyond these they are only counted, so that a
# file of a million bad records cannot exhaust memory.
MAX_STORED_ERRORS = 10_000
MAX_STORED_WARNINGS = 1_000


class Progress(Protocol):
    def file_started(self, legacy_file: LegacyFile, *, number: int, total: int) -> None: ...

    def advanced(self, *, phase: str, done_bytes: int, total_bytes: int, records: int) -> None: ...

    def file_finished(self, report: FileReport) -> None: ...


@dataclass
class Problem:
    file: str
    reason: str
    index: int | None = None
    location: str = ""  # the list inside the file, e.g. records or detailed_metrics[…]
    record: str = ""  # the record's identity when it is known
    level: str = "error"
    unit: str = "record"  # what ``index`` counts: a list's records, or a file's lines

    def describe(self) -> str:
        """One line for people; what came from the file (names, ids, values) is ``printable``."""
        where = printable(self.file)
        if self.index is not None:
            where += f", {self.unit} {self.index}"
            extras = [printable(x) for x in (self.location, self.record) if x]
            if extras:
                where += f" ({'; '.join(extras)})"
        return f"{where}: {printable(self.reason)}"

    def as_json(self) -> dict[str, Any]:
        """As stored on the ImportRun (shown in the admin): printable too."""
        return {
            "file": printable(self.file),
            "index": self.index,
            "location": printable(self.location),
            "record": printable(self.record),
            "reason": printable(self.reason),
            "level": self.level,
        } | ({"unit": self.unit} if self.unit != "record" else {})


@dataclass
class FileReport:
    display: str
    kind: str
    status: str  # imported | skipped | aggregate | failed
    note: str = ""
    created: int = 0
    merged: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def records(self) -> int:
        return self.created + self.merged + self.skipped + self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "file": printable(self.display),
            "kind": self.kind,
            "status": self.status,
            "note": printable(self.note),
            "created": self.created,
            "merged": self.merged,
            "skipped": self.skipped,
            "failed": self.failed,
        }


@dataclass
class ImportReport:
    run_id: int
    dry_run: bool
    files: list[FileReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings_dropped: int = 0
    errors_dropped: int = 0
    improvements_refreshed: int = 0
    recovered: Recovery | None = None  # what earlier, interrupted runs left, finished by this one
    seconds: float = 0.0
    # The earliest and latest time of the records the files hold (imported or already stored):
    # what the dashboard's range must cover to show them (import_legacy prints that URL).
    first_at: datetime | None = None
    last_at: datetime | None = None

    def saw(self, at: datetime | None) -> None:
        if at is None:
            return
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)

    def total(self, name: str) -> int:
        return sum(getattr(report, name) for report in self.files)

    @property
    def failed_files(self) -> list[FileReport]:
        return [report for report in self.files if report.status == "failed"]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.failed_files and self.total("failed") == 0


class _Run:
    def __init__(
        self,
        files: list[LegacyFile],
        report: ImportReport,
        progress: Progress | None,
        *,
        run: ImportRun,
    ):
        self.files = files
        self.report = report
        self.progress = progress
        self.run = run
        # Task type -> earliest time whose quality_improvement baselines the batches moved; each
        # batch also writes it to the run's refresh_pending, in its own transaction.
        self.since_by_type: dict[str, datetime] = {}
        self.last_beat = time.monotonic()
        self.records_seen = 0
        self.errors_kept = self.warnings_kept = 0
        # Each file is read twice: checked whole, then imported.
        self.total_bytes = 2 * sum(_size(f) for f in files if f.readable)
        self.done_bytes = 0

    def beat(self) -> None:
        """Tell other processes this run is alive (at most once every ``HEARTBEAT_EVERY`` s).

        Not in a dry run: its writes sit in a transaction that is rolled back, unseen.
        """
        if self.run.dry_run or time.monotonic() - self.last_beat < HEARTBEAT_EVERY:
            return
        self.last_beat = time.monotonic()
        ImportRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())

    def note_batch(self, result: BatchResult) -> None:
        """Inside the batch's transaction: what it touched joins the run's pending refresh, so
        that if this process dies the records it stored are still recomputed (recovery).

        Merged at once (a batch written record by record calls this once per record): should the
        transaction roll back after all, the refresh only covers a little more than it must.
        """
        merge_since(self.since_by_type, result.touched)
        if self.run.dry_run:
            return
        ImportRun.objects.filter(pk=self.run.pk).update(
            heartbeat_at=timezone.now(), refresh_pending=pending_as_json(self.since_by_type)
        )
        self.last_beat = time.monotonic()

    def problem(self, problem: Problem) -> None:
        if problem.level == "warning":
            if self.warnings_kept >= MAX_STORED_WARNINGS:
                self.report.warnings_dropped += 1
                return
            self.warnings_kept += 1
        else:
            if self.errors_kept >= MAX_STORED_ERRORS:
                self.report.errors_dropped += 1
                return
            self.errors_kept += 1
        self.report.problems.append(problem)

    def import_all(self, *, assume_tz: tzinfo, batch_size: int) -> None:
        readable = [f for f in self.files if f.readable]
        number = 0
        for legacy_file in self.files:
            if not legacy_file.readable:
                self.report.files.append(_not_read(legacy_file))
                if legacy_file.kind == Kind.MISSING:
                    self.problem(Problem(file=legacy_file.display, reason=legacy_file.note))
                continue
            number += 1
            if self.progress:
                self.progress.file_started(legacy_file, number=number, total=len(readable))
            file_report = self.import_file(legacy_file, assume_tz=assume_tz, batch_size=batch_size)
            self.report.files.append(file_report)
            self.done_bytes += 2 * _size(legacy_file)
            if self.progress:
                self.progress.file_finished(file_report)

    def import_file(
        self, legacy_file: LegacyFile, *, assume_tz: tzinfo, batch_size: int
    ) -> FileReport:
        report = FileReport(display=legacy_file.display, kind=legacy_file.kind, status="imported")
        if legacy_file.kind == Kind.EXPORT:
            return self.restore_file(legacy_file, report, batch_size=batch_size)

        def checked(position: int) -> None:
            self.beat()
            if self.progress:
                self.progress.advanced(
                    phase="checking",
                    done_bytes=self.done_bytes + position,
                    total_bytes=self.total_bytes,
                    records=self.records_seen,
                )

        try:
            layout = inspect_file(legacy_file.path, checked)
        except FileReadError as exc:
            report.status = "failed"
            report.note = f"{exc}; nothing imported from this file"
            self.problem(Problem(file=legacy_file.display, reason=str(exc)))
            return report
        notes = list(layout.notes)
        if layout.other_sections:
            notes.append("not records, not imported: " + ", ".join(layout.other_sections))
        if not layout.lists:
            report.status = "skipped"
            notes.insert(0, "no legacy record list in this file")
        report.note = "; ".join(notes)

        batch: list[tuple[LegacyTask, int, str]] = []
        try:
            for task_or_problem in self._normalised(legacy_file, layout, assume_tz=assume_tz):
                if isinstance(task_or_problem, Problem):
                    report.failed += 1
                    self.problem(task_or_problem)
                    continue
                batch.append(task_or_problem)
                if len(batch) >= batch_size:
                    self.flush(batch, report)
                    batch = []
        except FileReadError as exc:  # the file changed or vanished while it was being read
            report.status = "failed"
            report.note = f"{exc} (the file changed during the import)"
            self.problem(Problem(file=legacy_file.display, reason=str(exc)))
        self.flush(batch, report)
        return report

    def restore_file(
        self, legacy_file: LegacyFile, report: FileReport, *, batch_size: int
    ) -> FileReport:
        """A perfsite export, line by line: each record stored as exported, or reported."""
        try:
            check_header(legacy_file.path)
        except ExportReadError as exc:
            report.status = "failed"
            report.note = f"{exc}; nothing imported from this file"
            self.problem(Problem(file=legacy_file.display, reason=str(exc)))
            return report
        size = _size(legacy_file)
        batch: list[tuple[ExportedRecord, int]] = []
        try:
            for number, value, position in iter_lines(legacy_file.path):
                self.records_seen += 1
                if self.records_seen % 500 == 0:
                    self.beat()
                if self.progress and self.records_seen % 500 == 0:
                    self.progress.advanced(
                        phase="restoring",
                        done_bytes=self.done_bytes + size + position,
                        total_bytes=self.total_bytes,
                        records=self.records_seen,
                    )
                try:
                    if isinstance(value, RowError):
                        raise value
                    batch.append((exported_record(value), number))
                except RowError as exc:
                    report.failed += 1
                    self.problem(
                        Problem(
                            file=legacy_file.display,
                            index=number,
                            unit="line",
                            record=_identity_hint(value, keys=("record_id",)),
                            reason="; ".join(exc.reasons),
                        )
                    )
                    continue
                if len(batch) >= batch_size:
                    self.flush_restored(batch, report)
                    batch = []
        except ExportReadError as exc:
            report.status = "failed"
            report.note = f"{exc} (the file changed during the import)"
            self.problem(Problem(file=legacy_file.display, reason=str(exc)))
        self.flush_restored(batch, report)
        return report

    def flush_restored(self, batch: list[tuple[ExportedRecord, int]], report: FileReport) -> None:
        if not batch:
            return
        lines = {id(item): number for item, number in batch}
        self._count(apply_exported([item for item, _number in batch]), report, lines, unit="line")
        self.beat()

    def _count(
        self, result: BatchResult, report: FileReport, where: dict[int, int], *, unit: str
    ) -> None:
        for item in result.outcomes:
            setattr(report, item.outcome, getattr(report, item.outcome) + 1)
            if item.reason:
                self.problem(
                    Problem(
                        file=report.display,
                        index=where[id(item.task)],
                        unit=unit,
                        record=item.task.identity,
                        reason=item.reason,
                        level="error" if item.outcome == "failed" else "warning",
                    )
                )
        reset_queries()

    def _normalised(
        self, legacy_file: LegacyFile, layout: FileLayout, *, assume_tz: tzinfo
    ) -> Iterator[tuple[LegacyTask, int, str] | Problem]:
        if not layout.lists:
            return
        for record_list, index, payload, position in iter_records(legacy_file.path):
            self.records_seen += 1
            if self.records_seen % 500 == 0:
                self.beat()
            if self.progress and self.records_seen % 500 == 0:
                self.progress.advanced(
                    phase="importing",
                    done_bytes=self.done_bytes + _size(legacy_file) + position,
                    total_bytes=self.total_bytes,
                    records=self.records_seen,
                )
            if isinstance(payload, TooDeep):  # never built: the reader counted its depth
                yield Problem(
                    file=legacy_file.display,
                    index=index,
                    location=record_list.path,
                    record=_identity_hint(payload.identity),
                    reason=payload.reason,
                )
                continue
            try:
                task = normalise_payload(
                    payload,
                    source=legacy_file.source,
                    assume_tz=assume_tz,
                    model_hint=record_list.model_hint,
                )
            except RecordError as exc:
                yield Problem(
                    file=legacy_file.display,
                    index=index,
                    location=record_list.path,
                    record=_identity_hint(payload),
                    reason="; ".join(exc.reasons),
                )
                continue
            for warning in task.warnings:
                self.problem(
                    Problem(
                        file=legacy_file.display,
                        index=index,
                        location=record_list.path,
                        record=task.identity,
                        reason=warning,
                        level="warning",
                    )
                )
            yield task, index, record_list.path

    def flush(self, batch: list[tuple[LegacyTask, int, str]], report: FileReport) -> None:
        if not batch:
            return
        where = {id(task): (index, location) for task, index, location in batch}
        result = apply_batch([task for task, _index, _location in batch], on_write=self.note_batch)
        for item in result.outcomes:
            setattr(report, item.outcome, getattr(report, item.outcome) + 1)
            if item.outcome != "failed":
                self.report.saw(item.task.recorded_at)
            if item.outcome == "failed":
                index, location = where[id(item.task)]
                self.problem(
                    Problem(
                        file=report.display,
                        index=index,
                        location=location,
                        record=item.task.identity,
                        reason=item.reason,
                    )
                )
        reset_queries()  # with DEBUG on, Django would otherwise keep every query in memory


def _identity_hint(payload: Any, keys: tuple[str, ...] = ("assessment_id", "task_id")) -> str:
    if isinstance(payload, dict):
        for key in keys:
            if isinstance(payload.get(key), str | int) and not isinstance(payload.get(key), bool):
                return f"{key} {payload[key]}"
    return ""


def _size(legacy_file: LegacyFile) -> int:
    try:
        return legacy_file.path.stat().st_size
    except OSError:
        return 0


def _not_read(legacy_file: LegacyFile) -> FileReport:
    status = {Kind.AGGREGATE: "aggregate", Kind.MISSING: "failed"}.get(legacy_file.kind, "skipped")
    return FileReport(
        display=legacy_file.display, kind=legacy_file.kind, status=status, note=legacy_file.note
    )


def legacy_import(
    *,
    paths: list[str],
    dry_run: bool = False,
    assume_tz: tzinfo = UTC,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import legacy ``.claude-patterns`` data; every run is kept as an ``ImportRun`` row.

    A dry run does the same work inside a transaction that is rolled back, so its report is
    exactly what a real run would do; only its ImportRun row (``dry_run=True``) is kept.
    """
    started = time.monotonic()
    files = discover(paths)
    run = ImportRun.objects.create(
        paths=[printable(str(p)) for p in paths],
        dry_run=dry_run,
        status=ImportRun.Status.RUNNING,
        pid=os.getpid(),
        host=HOST,
        heartbeat_at=timezone.now(),
    )
    report = ImportReport(run_id=run.pk, dry_run=dry_run)
    work = _Run(files, report, progress, run=run)
    try:
        if dry_run:
            with transaction.atomic():
                work.import_all(assume_tz=assume_tz, batch_size=batch_size)
                transaction.set_rollback(True)
        else:
            # First finish what earlier runs that were killed left undone (this one is alive).
            report.recovered = recover_unfinished(exclude=run.pk, on_progress=work.beat)
            work.import_all(assume_tz=assume_tz, batch_size=batch_size)
            report.improvements_refreshed = refresh_quality_improvements(
                since_by_type=work.since_by_type, on_progress=work.beat
            )
            work.since_by_type = {}  # done: nothing left pending
    except BaseException as exc:
        report.problems.append(Problem(file="(import)", reason=f"stopped: {exc!r}"))
        # Stopped by the user (Ctrl-C) it is interrupted; by an error, failed. Either way what its
        # batches stored stays noted in refresh_pending, for the next import or repair_imports.
        stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
        status = ImportRun.Status.INTERRUPTED if stopped else ImportRun.Status.FAILED
        try:
            _finish(run, report, started, status=status, pending=work.since_by_type)
        except DatabaseError:
            logger.warning("could not record the end of import run %s", run.pk, exc_info=True)
        raise
    _finish(
        run,
        report,
        started,
        status=ImportRun.Status.OK if report.ok else ImportRun.Status.FAILED,
        pending={},
    )
    return report


def _finish(
    run: ImportRun,
    report: ImportReport,
    started: float,
    *,
    status: str,
    pending: dict[str, datetime],
) -> None:
    report.seconds = time.monotonic() - started
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    run.status = status
    # What the committed batches touched and no refresh has covered yet (empty once it ran).
    run.refresh_pending = None if run.dry_run else pending_as_json(pending)
    run.created = report.total("created")
    run.merged = report.total("merged")
    run.skipped = report.total("skipped")
    run.failed = report.total("failed") + len(report.failed_files)
    run.files = [file_report.as_json() for file_report in report.files]
    run.errors = [problem.as_json() for problem in report.problems]
    for level, dropped in (("error", report.errors_dropped), ("warning", report.warnings_dropped)):
        if dropped:
            run.errors.append({"level": level, "reason": f"{dropped} more {level}s not stored"})
    run.save()
