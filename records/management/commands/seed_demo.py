from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.recording.demo import seed_demo
from records.stats.selectors import has_records


class Command(BaseCommand):
    help = "Add N realistic demo records over the last 90 days (to whatever is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--records", type=int, default=2000, help="How many (default 2000).")
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, for repeatability."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Only seed when no record is stored yet."
        )

    def handle(self, *args, records: int, seed: int | None, if_empty: bool, **options) -> None:
        if records < 0:
            raise CommandError("--records must be zero or more.")
        if if_empty and has_records():
            self.stdout.write("Records already stored; not adding demo data.")
            return
        verbose = options["verbosity"] > 1
        result = seed_demo(
            records=records,
            seed=seed,
            progress=(lambda n: self.stdout.write(f"  {n} records")) if verbose else None,
        )
        rate = result.created / result.seconds if result.seconds else 0
        self.stdout.write(
            f"Added {result.created} demo records in {result.seconds:.1f}s ({rate:,.0f}/s)."
        )
