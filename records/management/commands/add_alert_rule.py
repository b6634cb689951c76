from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.alerts.models import MAX_WINDOW_HOURS, MAX_WINDOW_TASKS, AlertRule
from records.alerts.services import rule_create, validation_message
from records.alerts.text import rule_text
from records.rules.alerts import ABOVE, BELOW, DROP, METRICS
from records.rules.classification import CANONICAL_TYPES
from records.rules.names import clean_name, normalise_model_name


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


positive.__name__ = "whole number of 1 or more"


class Command(BaseCommand):
    help = (
        "Add an alert rule: a metric of a scope of tasks over a window, and a condition. "
        "check_alerts evaluates the rules and notifies the webhooks and email addresses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique name for the rule.")
        parser.add_argument("--metric", required=True, choices=METRICS)
        condition = parser.add_mutually_exclusive_group(required=True)
        condition.add_argument("--below", type=float, help="Fire when the metric is below X.")
        condition.add_argument("--above", type=float, help="Fire when the metric is above X.")
        condition.add_argument(
            "--drop",
            type=float,
            help="Fire when the metric is worse by at least X than in the previous window of "
            "the same length (lower pass rate/quality/performance, higher cost/failures).",
        )
        window = parser.add_mutually_exclusive_group(required=True)
        window.add_argument(
            "--window-tasks", type=positive, help=f"The last N tasks (at most {MAX_WINDOW_TASKS})."
        )
        window.add_argument(
            "--window-hours", type=positive, help=f"The last N hours (at most {MAX_WINDOW_HOURS})."
        )
        parser.add_argument("--task-type", choices=CANONICAL_TYPES)
        parser.add_argument("--model", help='A model name, e.g. "GLM 4.6" (normalised).')
        parser.add_argument("--project")
        parser.add_argument("--skill")
        parser.add_argument("--agent")
        parser.add_argument("--origin", choices=["auto", "manual"])
        parser.add_argument(
            "--min-tasks",
            type=positive,
            default=5,
            help="Never fire on fewer tasks than this in the window (default 5).",
        )
        parser.add_argument("--webhook", action="append", default=[], help="Repeatable.")
        parser.add_argument("--email", action="append", default=[], help="Repeatable.")
        parser.add_argument("--disabled", action="store_true", help="Store it switched off.")

    def handle(self, *args, **o) -> None:
        name = clean_name(o["name"])
        if not name:
            raise CommandError("The rule needs a name.")
        for kind, value in ((BELOW, o["below"]), (ABOVE, o["above"]), (DROP, o["drop"])):
            if value is not None:
                condition, threshold = kind, value
        if o["window_tasks"] is not None:
            window_kind, window_size = "tasks", o["window_tasks"]
        else:
            window_kind, window_size = "hours", o["window_hours"]
        if AlertRule.objects.filter(name=name).exists():
            raise CommandError(f"An alert rule called {name!r} exists already.")
        try:
            rule = rule_create(
                name=name,
                metric=o["metric"],
                condition=condition,
                threshold=threshold,
                window_kind=window_kind,
                window_size=window_size,
                min_tasks=o["min_tasks"],
                task_type=o["task_type"] or "",
                model=normalise_model_name(o["model"]) if o["model"] else "",
                project=clean_name(o["project"] or ""),
                skill=clean_name(o["skill"] or ""),
                agent=clean_name(o["agent"] or ""),
                origin=o["origin"] or "",
                webhooks="\n".join(o["webhook"]),
                emails="\n".join(o["email"]),
                enabled=not o["disabled"],
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from error
        self.stdout.write(f"Added alert rule {rule.name!r} (id {rule.pk}): {rule_text(rule)}.")
