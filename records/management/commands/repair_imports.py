"""``manage.py repair_imports``: finish what interrupted imports left undone. Safe to rerun."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from records.importer.recovery import STALE_AFTER, repair_imports


class Command(BaseCommand):
    help = (
        "Repair what interrupted import_legacy runs left: mark runs whose process is gone as "
        "interrupted, finish the recomputation they had pending, and recompute the derived "
        "quality_improvement of every imported record that did not give one wherever it is "
        "NULL or stale. Writes only what changes, so it is safe to run again. A run counts as "
        f"gone when its process is not running on this host or it has not written for "
        f"{int(STALE_AFTER.total_seconds() // 60)} minutes."
    )

    def handle(self, *args, **options) -> None:
        repair = repair_imports()
        recovery = repair.recovery
        if recovery.interrupted:
            runs = ", ".join(f"#{pk}" for pk in recovery.interrupted)
            self.stdout.write(f"Marked import runs interrupted (their process is gone): {runs}.")
        if recovery.finished:
            runs = ", ".join(f"#{pk}" for pk in recovery.finished)
            self.stdout.write(
                f"Finished the recomputation pending from import runs {runs} "
                f"({recovery.improvements} records changed)."
            )
        self.stdout.write(
            f"Checked the derived quality_improvement of imported records in {repair.task_types} "
            f"task types: {repair.improvements} were NULL or stale and are recomputed."
        )
        if not recovery.anything and not repair.improvements:
            self.stdout.write("Nothing to repair.")
