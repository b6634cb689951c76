import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.recording.ingest import (
    MSG_NOT_TASKS,
    SOURCE_CLI,
    BatchValidationError,
    JsonInputError,
    format_errors,
    message_dict,
    parse_json,
    task_record,
    tasks_record,
)


class Command(BaseCommand):
    help = (
        "Record a finished task from JSON: one task (an object with the record_task_performance "
        "keys) or a list of tasks. Prints each record id on its own line. A list is "
        "all-or-nothing: every task is validated first, and unless all are valid nothing is "
        "stored; then all are written in one transaction (the batch write of the HTTP API's "
        "lists). A task whose record_id is already stored is not stored again (its id is "
        "printed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            default="-",
            metavar="FILE|-",
            help="JSON file to read; '-' or nothing reads standard input.",
        )
        parser.add_argument(
            "--model",
            default=None,
            metavar="NAME",
            help="The model that ran the task(s); overrides model_used in the JSON (like "
            "record_task_performance's model_used argument).",
        )

    def handle(self, *args, file: str, model: str | None, **options) -> None:
        label = "standard input" if file == "-" else file
        try:
            data = parse_json(self._read(file))
        except JsonInputError as exc:
            raise CommandError(f"{label}: {exc}") from exc
        if isinstance(data, dict):
            try:
                record, _created = task_record(task_data=data, source=SOURCE_CLI, model_used=model)
            except ValidationError as exc:
                raise CommandError(
                    f"Invalid task, nothing stored: {format_errors(message_dict(exc))}"
                ) from exc
            self.stdout.write(record.record_id)
        elif isinstance(data, list):
            if not data:
                self.stderr.write("The list is empty: nothing to record.")
                return
            try:
                record_ids = tasks_record(tasks=data, source=SOURCE_CLI, model_used=model)
            except BatchValidationError as exc:
                raise CommandError(
                    f"Invalid tasks at {len(exc.errors)} of {len(data)} positions (index from 0), "
                    f"nothing stored: {exc}"
                ) from exc
            for record_id in record_ids:
                self.stdout.write(record_id)
        else:
            raise CommandError(f"{label}: {MSG_NOT_TASKS}")

    def _read(self, file: str) -> bytes:
        if file == "-":
            stream = sys.stdin
            return stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
        try:
            return Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
