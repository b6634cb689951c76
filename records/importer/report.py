"""How an import reads to a person: the per-file table and the one-line outcomes. Pure text.

File names and anything else read from files go through ``printable``: shown, never obeyed.
"""

from __future__ import annotations

from records.importer.discovery import READ_KINDS
from records.importer.printable import printable
from records.importer.service import ImportReport

COLUMNS = ("created", "merged", "skipped", "failed")
STATUS_WORDS = {
    "imported": "",
    "skipped": "skipped",
    "aggregate": "aggregate",
    "failed": "FAILED",
}


def table_lines(report: ImportReport) -> list[str]:
    """The per-file table; a file's note (why skipped, what failed) on the line below it."""
    if not report.files:
        return ["No files found."]
    names = {id(f): printable(f.display) for f in report.files}
    name_width = max(len("File"), *(len(name) for name in names.values()), len("Total"))
    kind_width = max(len("Kind"), *(len(str(f.kind)) for f in report.files))
    header = f"{'File':<{name_width}}  {'Kind':<{kind_width}}  " + "  ".join(
        f"{c.capitalize():>7}" for c in COLUMNS
    )
    lines = [header, "-" * len(header)]
    for file_report in report.files:
        if file_report.kind in READ_KINDS and file_report.status in ("imported", "skipped"):
            counts = "  ".join(f"{getattr(file_report, c):>7}" for c in COLUMNS)
        else:
            counts = "  ".join(f"{'-':>7}" for _ in COLUMNS)
        lines.append(
            f"{names[id(file_report)]:<{name_width}}  {file_report.kind!s:<{kind_width}}  {counts}"
        )
        status = STATUS_WORDS.get(file_report.status, "")
        note = printable(file_report.note)
        if file_report.failed and file_report.status != "failed":
            failed = f"{file_report.failed} failed, see the errors"
            note = f"{failed}; {note}" if note else failed
        if status and status != "skipped" and not note.lower().startswith(status.lower()):
            note = f"{status}: {note}" if note else status
        if note:
            lines.append(f"{'':<{name_width}}    {note}")
    lines.append("-" * len(header))
    totals = "  ".join(f"{report.total(c):>7}" for c in COLUMNS)
    lines.append(f"{'Total':<{name_width}}  {'':<{kind_width}}  {totals}")
    return lines


def summary_line(report: ImportReport) -> str:
    created, merged, skipped, failed = (report.total(c) for c in COLUMNS)
    run = f"import run #{report.run_id}, {report.seconds:.1f}s"
    if report.dry_run:
        return (
            f"Dry run: nothing was written. A real run would create {created} records, "
            f"merge {merged} payloads into existing records and skip {skipped} already stored "
            f"({failed} would fail; {run})."
        )
    if created == 0 and merged == 0 and skipped and report.ok:
        return (
            "Nothing new: every record in these files is already stored "
            f"({skipped} payloads skipped; {run})."
        )
    return (
        f"Created {created} records, merged {merged} payloads into existing records, "
        f"skipped {skipped} already stored, {failed} failed ({run})."
    )


def recovery_line(report: ImportReport) -> str | None:
    """What this run finished for earlier runs whose process had gone, or None."""
    recovered = report.recovered
    if recovered is None or not recovered.anything:
        return None
    runs = sorted({*recovered.interrupted, *recovered.finished})
    names = ", ".join(f"#{pk}" for pk in runs)
    noun = "Import run" if len(runs) == 1 else "Import runs"
    verb = "was" if len(runs) == 1 else "were"
    return (
        f"{noun} {names} {verb} interrupted before finishing; recomputed the derived "
        f"quality_improvement of the records stored by then ({recovered.improvements} changed)."
    )


def failure_line(report: ImportReport) -> str:
    """One line for CommandError: what failed, naming the files."""
    parts = []
    failed_files = report.failed_files
    if failed_files:
        names = ", ".join(printable(f.display) for f in failed_files[:3])
        more = f" and {len(failed_files) - 3} more" if len(failed_files) > 3 else ""
        noun = "file" if len(failed_files) == 1 else "files"
        parts.append(f"{len(failed_files)} {noun} could not be imported ({names}{more})")
    failed = report.total("failed")
    if failed:
        files = [printable(f.display) for f in report.files if f.failed]
        names = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        noun = "record" if failed == 1 else "records"
        parts.append(f"{failed} {noun} failed ({names})")
    verb = "Dry run found failures" if report.dry_run else "Import finished with failures"
    first = report.errors[0].describe() if report.errors else ""
    first = f" First: {first}." if first else ""
    return f"{verb}: {'; '.join(parts)}.{first} Import run #{report.run_id}."
