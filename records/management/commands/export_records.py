import os
import sys
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from records.stats.exports import FORMATS, csv_lines, export_rows, jsonl_lines


class Command(BaseCommand):
    help = (
        "Stream every record, with its raw source payloads, to stdout as JSON Lines (default) or "
        "CSV. A JSONL export imports back with `import_legacy FILE.jsonl`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="jsonl", help="jsonl or csv.")
        parser.add_argument("--days", type=int, help="Only records of the last N days.")

    def handle(self, *args, format: str, days: int | None, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more.")
        since = timezone.now() - timedelta(days=days) if days else None
        lines = jsonl_lines if format == "jsonl" else csv_lines
        try:
            for line in lines(export_rows(since=since)):
                self.stdout.write(line, ending="")
            self.stdout.flush()
        except BrokenPipeError:  # `export_records | head`: the reader left; that is not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
