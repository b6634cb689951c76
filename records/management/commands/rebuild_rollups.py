from django.core.management.base import BaseCommand

from records.stats.rollups import rebuild_rollups


class Command(BaseCommand):
    help = "Recompute the hourly rollup tables from the stored records (exact; safe to rerun)."

    def handle(self, *args, **options) -> None:
        total = rebuild_rollups()
        self.stdout.write(f"Rebuilt rollups from {total} records.")
