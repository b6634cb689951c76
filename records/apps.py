from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _repair_search_index(sender, using, **kwargs) -> None:
    from django.db import connections

    from records.stats.search import repair_sqlite_index

    repair_sqlite_index(connections[using])


class RecordsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "records"
    verbose_name = "Performance records"

    def ready(self) -> None:
        # A later migration that rebuilds the records table on SQLite drops its triggers.
        post_migrate.connect(_repair_search_index, sender=self)
