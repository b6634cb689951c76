import signal
import threading

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from records.alerts.services import CheckResult, check_alerts


class Command(BaseCommand):
    help = (
        "Evaluate every enabled alert rule and send the notifications of the rules that started "
        "firing or recovered. Once, or every N seconds with --every (stops cleanly on SIGTERM "
        "or Ctrl-C)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every", type=float, default=None, metavar="SECONDS", help="Keep checking."
        )

    def handle(self, *args, every: float | None, **options) -> None:
        if every is None:
            self.report(check_alerts())
            return
        if every < 1:
            raise CommandError("--every must be at least 1 second.")
        stop = threading.Event()

        def ask_to_stop(signum, frame) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"Checking alert rules every {every:g} s; SIGTERM or Ctrl-C stops.")
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    self.report(check_alerts())
                except Exception as error:  # the database away for a while: try again later
                    self.stderr.write(f"Check failed: {type(error).__name__}: {error}")
                stop.wait(every)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")

    def report(self, result: CheckResult) -> None:
        firing = sum(1 for e in result.evaluations if e.rule.state == "firing")
        n = len(result.evaluations)
        self.stdout.write(
            f"Checked {n} rule{'' if n == 1 else 's'}: {firing} firing, "
            f"{len(result.changes)} changed."
        )
        for event in result.changes:
            self.stdout.write(f"  {event.summary}")
        for sent in result.deliveries:
            tries = f"{sent.attempts} attempt{'' if sent.attempts == 1 else 's'}"
            status = "sent" if sent.ok else f"FAILED after {tries}: {sent.error}"
            self.stdout.write(f"  {sent.channel} {sent.target}: {status}")
        self.stdout.flush()
