"""``manage.py import_legacy [PATH ...] [--dry-run] [--assume-tz TZ]``."""

from __future__ import annotations

import re
import time
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.urls import reverse
from django.utils import timezone as django_timezone

from records.importer.discovery import PATTERN_DIRS, LegacyFile
from records.importer.printable import printable
from records.importer.report import failure_line, recovery_line, summary_line, table_lines
from records.importer.service import BATCH_SIZE, FileReport, ImportReport, legacy_import

_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
BAR_WIDTH = 30


def parse_time_zone(name: str) -> tzinfo:
    """An IANA zone (Europe/Berlin), UTC, or a fixed offset (+02:00, UTC-5)."""
    text = name.strip()
    if text.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta <= timedelta(hours=14):
            return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CommandError(
            f"Unknown time zone {name!r}: give an IANA name such as Europe/Berlin, "
            "or an offset such as +02:00."
        ) from exc


class TerminalProgress:
    """A progress bar redrawn in place, at most ten times a second."""

    def __init__(self, out: OutputWrapper):
        self.out = out
        self.last = 0.0
        self.label = ""
        self.phase = ""
        self.done = self.total = self.records = 0

    def file_started(self, legacy_file: LegacyFile, *, number: int, total: int) -> None:
        self.label = f"[{number}/{total}] {printable(legacy_file.display)}"
        self.phase = "checking"
        self._draw(self.done, self.total, self.records, force=True)

    def advanced(self, *, phase: str, done_bytes: int, total_bytes: int, records: int) -> None:
        self.phase = phase
        self._draw(done_bytes, total_bytes, records)

    def file_finished(self, report: FileReport) -> None:
        self.out.write("\r\033[K", ending="")
        self.out.flush()

    def _draw(self, done: int, total: int, records: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        self.done, self.total, self.records = done, total, records
        share = min(1.0, done / total) if total else 0.0
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.out.write(
            f"\r\033[K[{bar}] {share:4.0%}  {records:>9,} records  {self.phase} {self.label}",
            ending="",
        )
        self.out.flush()


class PlainProgress:
    """One line per file, and one per 10,000 records: readable in a log."""

    def __init__(self, out: OutputWrapper):
        self.out = out
        self.next_mark = 10_000

    def file_started(self, legacy_file: LegacyFile, *, number: int, total: int) -> None:
        self.out.write(f"Reading [{number}/{total}] {printable(legacy_file.display)}")

    def advanced(self, *, phase: str, done_bytes: int, total_bytes: int, records: int) -> None:
        if records >= self.next_mark:
            self.out.write(f"  {records:,} records read")
            self.next_mark = (records // 10_000 + 1) * 10_000

    def file_finished(self, report: FileReport) -> None:
        pass


def shown_at(report: ImportReport) -> str:
    """The dashboard URL (path and query) whose custom range holds every record the files had,
    in the server's time zone; "" after a dry run or when no record was read."""
    if report.dry_run or report.first_at is None or report.last_at is None:
        return ""
    first = django_timezone.localtime(report.first_at).date().isoformat()
    last = django_timezone.localtime(report.last_at).date().isoformat()
    return f"{reverse('dashboard:index')}?from={first}&to={last}"


class Command(BaseCommand):
    help = (
        "Import the old tool's .claude-patterns JSON files (quality_history.json, "
        "performance_records.json, debugging_performance*.json, assessments.json, "
        ".claude-quality/quality_history.json), or restore a perfsite export (export_records "
        "JSON Lines, restored exactly as exported). Records are merged by identity, so importing "
        "the same data again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help=(
                "A .claude-patterns directory, a directory that contains such directories, or "
                "single JSON or perfsite export .jsonl files "
                "(default: ./.claude-patterns, and ./.claude-quality if present)."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report exactly what an import would do, and store no records.",
        )
        parser.add_argument(
            "--assume-tz",
            default="UTC",
            metavar="TZ",
            help="Time zone of timestamps written without one (default UTC), e.g. Europe/Berlin.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Records written per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args, paths: list[str], dry_run: bool, assume_tz: str, **options) -> None:
        tz = parse_time_zone(assume_tz)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not paths:
            paths = [name for name in PATTERN_DIRS if Path(name).exists()]
            if not paths:
                raise CommandError(
                    "No ./.claude-patterns here: give the PATH of a .claude-patterns directory, "
                    "of a folder that contains one, or of JSON files."
                )
        progress = None
        if options["verbosity"] >= 1:
            progress = (
                TerminalProgress(self.stdout)
                if self.stdout.isatty()
                else PlainProgress(self.stdout)
            )
        try:
            report = legacy_import(
                paths=paths,
                dry_run=dry_run,
                assume_tz=tz,
                progress=progress,
                batch_size=options["batch_size"],
            )
        except KeyboardInterrupt as exc:
            raise CommandError(
                "Import interrupted; the batches written so far are kept, and the next import "
                "(or manage.py repair_imports) recomputes their derived values."
            ) from exc
        except Exception as exc:
            if options.get("traceback"):
                raise
            raise CommandError(
                f"Import stopped: {type(exc).__name__}: {printable(str(exc))}"
            ) from exc

        # Every line below is built from printable parts already; printing through printable
        # again (it changes nothing printable) keeps any future line from reaching the terminal
        # with a control character taken from a file.
        self.stdout.write("")
        recovered = recovery_line(report)
        if recovered:
            self.stdout.write(recovered)
        for line in table_lines(report):
            self.stdout.write(printable(line))
        for problem in report.errors:
            self.stderr.write(printable(f"error: {problem.describe()}"))
        for problem in report.warnings:
            self.stderr.write(
                printable(f"warning: {problem.describe()}"), style_func=self.style.WARNING
            )
        if report.errors_dropped:
            self.stderr.write(f"error: {report.errors_dropped} more errors not shown")
        if report.warnings_dropped:
            self.stderr.write(f"warning: {report.warnings_dropped} more warnings not shown")
        self.stdout.write(summary_line(report))
        shown = shown_at(report)
        if shown:
            self.stdout.write(f"See them on the dashboard: {shown}")
        if not report.ok:
            raise CommandError(printable(failure_line(report)))
