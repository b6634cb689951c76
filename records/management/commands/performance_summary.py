import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.recorder import get_performance_summary
from records.stats.reports import summary_lines


class Command(BaseCommand):
    help = "Summarise recorded task performance over the last N days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30, help="Window in days (default 30).")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, days: int, json: bool, **options) -> None:
        try:
            summary = get_performance_summary(days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if json:
            self.stdout.write(_dumps(summary))
        else:
            for line in summary_lines(summary):
                self.stdout.write(line)


def _dumps(summary: dict) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False)
