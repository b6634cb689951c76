"""The dashboard's query string, validated: period, filters, search, sorts, and the
recent-records position.

A bad value never fails the request: the form drops it, the view falls back to the default for
that parameter, and the page says what was ignored and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from django import forms
from django.utils import timezone

from dashboard.cursor import DEFAULT_SORT, SORTS, Cursor
from dashboard.selectors import MAX_PAGE_ROWS, PAGE_SIZE
from records.models import TASK_TYPE_CHOICES
from records.rules.classification import CANONICAL_TYPES
from records.rules.names import MAX_NAME
from records.rules.periods import (
    DEFAULT_PERIOD,
    MAX_RANGE_YEAR,
    MIN_RANGE_YEAR,
    PERIODS,
    Window,
    period_window,
    range_window,
)
from records.stats.filters import ORIGIN_AUTO, ORIGIN_MANUAL, RecordFilters
from records.stats.search import MAX_SEARCH, search_words

PERIOD_LABELS = {
    "24h": "24 hours",
    "3d": "3 days",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "all": "All time",
}
ORIGIN_LABELS = {ORIGIN_AUTO: "Automatic (AUTO)", ORIGIN_MANUAL: "Manual"}
# ?type_sort= and ?model_sort= (the task-type and model tables): column -> header
GROUP_SORT_COLUMNS = {
    "name": "name",
    "count": "tasks",
    "avg_quality": "average quality",
    "success_rate": "success rate",
    "avg_performance_index": "performance index",
    "cost_per_task": "cost per task",
    "cost_per_pass": "cost per passing task",
}
GROUP_SORTS = tuple(f"{sign}{name}" for name in GROUP_SORT_COLUMNS for sign in ("-", ""))

# What the page says about a parameter it had to ignore; {value} is the value given.
IGNORED_MESSAGES = {
    "period": "Unknown period “{value}”: showing the last 7 days. Use one of "
    + ", ".join(PERIODS)
    + ".",
    "model": "No model is called “{value}”: the model filter was ignored.",
    "task_type": "Unknown task type “{value}”: the task type filter was ignored. Use one of "
    + ", ".join(CANONICAL_TYPES)
    + ".",
    "source": "Unknown source “{value}”: the source filter was ignored. Use auto or manual.",
    "project": "No record has the project “{value}”: the project filter was ignored.",
    "cursor": "The “cursor” position “{value}” could not be read: showing the newest records.",
    "rows": f"“rows” must be a whole number from 1 to {MAX_PAGE_ROWS}: showing {PAGE_SIZE} rows.",
    "q": f"The search “{{value}}” was ignored: it needs a letter or a digit and at most "
    f"{MAX_SEARCH} characters.",
    "sort": "Unknown sort “{value}”: showing the newest records first. Use one of "
    + ", ".join(SORTS)
    + ".",
    "type_sort": "Unknown task-type sort “{value}”: the table keeps its order. Use one of "
    + ", ".join(GROUP_SORTS)
    + ".",
    "model_sort": "Unknown model sort “{value}”: the table keeps its order. Use one of "
    + ", ".join(GROUP_SORTS)
    + ".",
    "from": "The range start “{value}” was ignored: {error} Showing the last 7 days.",
    "to": "The range end “{value}” was ignored: {error} Showing the last 7 days.",
}
# Field errors of a custom range (``?from=YYYY-MM-DD&to=YYYY-MM-DD``).
MSG_RANGE_DATE = (
    f"Give a date as YYYY-MM-DD, in the years {MIN_RANGE_YEAR}-{MAX_RANGE_YEAR}, e.g. 2025-10-21."
)
MSG_RANGE_BOTH = "Give both a start (from) and an end (to) date."
MSG_RANGE_ORDER = "The end (to) must not be before the start (from)."
RANGE_FIELDS = ("from", "to")


def range_text(first: date, last: date) -> str:
    """``21 Oct 2025 to 27 Oct 2025`` (one day: ``21 Oct 2025``)."""
    text = f"{first.day} {first:%b %Y}"
    return text if first == last else f"{text} to {last.day} {last:%b %Y}"


class DashboardQueryForm(forms.Form):
    """Validates the query string shared by the page and every fragment."""

    period = forms.ChoiceField(
        required=False, choices=[(key, PERIOD_LABELS[key]) for key in PERIODS]
    )
    # Any stored model's name, checked with one query (``model_exists``): the page offers only the
    # most used models as choices, but a shared URL may name any of thousands.
    model = forms.CharField(required=False, label="Model", max_length=200, strip=False)
    task_type = forms.ChoiceField(
        required=False,
        label="Task type",
        choices=[("", "All task types"), *TASK_TYPE_CHOICES],
    )
    # The origin filter (auto or manual); "source" is its name in the URL.
    source = forms.ChoiceField(
        required=False,
        label="Source",
        choices=[("", "Auto and manual"), *ORIGIN_LABELS.items()],
    )
    q = forms.CharField(required=False, label="Search", max_length=MAX_SEARCH)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS])
    type_sort = forms.ChoiceField(required=False, choices=[(key, key) for key in GROUP_SORTS])
    model_sort = forms.ChoiceField(required=False, choices=[(key, key) for key in GROUP_SORTS])
    # TaskRecord.project: any project a record names, checked like the model (the menu offers
    # the most used).
    project = forms.CharField(required=False, label="Project", max_length=MAX_NAME, strip=False)
    cursor = forms.CharField(required=False, max_length=400)
    rows = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_ROWS)

    def __init__(
        self,
        data: Mapping[str, str],
        *,
        model_exists: Callable[[str], bool],
        project_exists: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(data)
        self.model_exists = model_exists
        self.project_exists = project_exists
        # A custom range: "from" and "to" are the names in the URL (not Python identifiers).
        for name in RANGE_FIELDS:
            self.fields[name] = forms.DateField(
                required=False,
                input_formats=["%Y-%m-%d"],
                error_messages={"invalid": MSG_RANGE_DATE},
            )

    def clean_project(self) -> str:
        value = self.cleaned_data["project"]
        if value and ("\x00" in value or (self.project_exists and not self.project_exists(value))):
            raise forms.ValidationError("No such project.")
        return value

    def _clean_range_day(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not MIN_RANGE_YEAR <= value.year <= MAX_RANGE_YEAR:
            raise forms.ValidationError(MSG_RANGE_DATE)
        return value

    def clean(self) -> dict:
        data = super().clean()
        for name in RANGE_FIELDS:
            if name in self.errors:
                continue
            try:
                data[name] = self._clean_range_day(name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        if set(RANGE_FIELDS) & set(self.errors):
            return data
        first, last = data.get("from"), data.get("to")
        if (first is None) != (last is None):
            self.add_error("to" if last is None else "from", MSG_RANGE_BOTH)
        elif first is not None and last is not None and last < first:
            self.add_error("to", MSG_RANGE_ORDER)
        return data

    def clean_model(self) -> str:
        value = self.cleaned_data["model"]
        if value and not self.model_exists(value):
            raise forms.ValidationError("No such model.")
        return value

    def clean_q(self) -> str:
        value = self.cleaned_data["q"]
        if value and not search_words(value):
            raise forms.ValidationError("No letter or digit to search for.")
        return value

    def clean_cursor(self) -> Cursor | None:
        value = self.cleaned_data["cursor"]
        if not value:
            return None
        try:
            cursor = Cursor.decode(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        # A position in one order means nothing in another (a sort given but ignored is the
        # default order).
        sort = self.data.get("sort") or DEFAULT_SORT
        if cursor.sort != (sort if sort in SORTS else DEFAULT_SORT):
            raise forms.ValidationError("The cursor belongs to another sort.")
        return cursor


@dataclass(frozen=True)
class DashboardQuery:
    """A valid view of the dashboard: what every panel builder is given."""

    period: str
    filters: RecordFilters
    now: datetime
    cursor: Cursor | None = None
    rows: int = PAGE_SIZE
    sort: str = DEFAULT_SORT  # the recent records' order, SORTS
    type_sort: str | None = None  # the task-type table's order, GROUP_SORTS; None: canonical
    model_sort: str | None = None  # the model table's order; None: most used first
    ignored: tuple[str, ...] = field(default=())  # messages about dropped parameters
    # A custom range of days (both included), instead of the period; None: the period.
    first_day: date | None = None
    last_day: date | None = None
    range_errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What the panels of one request share (a search's capped ids per window: dashboard.panels
    # ``figures_of``); never copied to another query.
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def custom(self) -> bool:
        return self.first_day is not None and self.last_day is not None

    @property
    def window(self) -> Window:
        if self.first_day is not None and self.last_day is not None:
            tz = timezone.get_current_timezone()
            return range_window(self.first_day, self.last_day, tz=tz)
        return period_window(self.period, self.now)

    @property
    def period_label(self) -> str:
        """ "7 days", "All time", or the custom range: "21 Oct 2025 to 27 Oct 2025"."""
        if self.first_day is not None and self.last_day is not None:
            return range_text(self.first_day, self.last_day)
        return PERIOD_LABELS[self.period]

    @property
    def heading(self) -> str:
        """What the panels cover, after a "·": "last 7 days", "all time", or the range."""
        if self.custom or self.period == "all":
            return self.period_label if self.custom else "all time"
        return f"last {self.period_label.lower()}"

    def params(self, **overrides: str | None) -> dict[str, str]:
        """The view's shareable parameters (defaults left out), with ``overrides`` applied.

        A custom range is kept as ``from``/``to`` until a period is chosen (``period=...``
        among the overrides drops it)."""
        custom = self.custom and not overrides.get("period")
        values = {
            "period": self.period if self.period != DEFAULT_PERIOD and not custom else None,
            "from": self.first_day.isoformat() if custom and self.first_day else None,
            "to": self.last_day.isoformat() if custom and self.last_day else None,
            "model": self.filters.model,
            "task_type": self.filters.task_type,
            "source": self.filters.origin,
            "q": self.filters.search,
            "sort": self.sort if self.sort != DEFAULT_SORT else None,
            "type_sort": self.type_sort,
            "model_sort": self.model_sort,
            "project": self.filters.project,
        } | overrides
        return {key: value for key, value in values.items() if value}

    def querystring(self, **overrides: str | None) -> str:
        return urlencode(self.params(**overrides))


def parse_query(
    data: Mapping[str, str],
    *,
    model_exists: Callable[[str], bool],
    now: datetime,
    project_exists: Callable[[str], bool] | None = None,
) -> DashboardQuery:
    """Validate ``data`` (request.GET); invalid parameters fall back and are reported."""
    form = DashboardQueryForm(data, model_exists=model_exists, project_exists=project_exists)
    form.is_valid()
    clean = {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
    # A preset named in the URL wins over a range (the presets' links and radios send one).
    preset = bool(clean.get("period"))
    range_errors = {name: tuple(form.errors[name]) for name in RANGE_FIELDS if name in form.errors}
    ignored = tuple(
        IGNORED_MESSAGES[name].format(
            value=str(data.get(name, ""))[:60], error=" ".join(form.errors[name])
        )
        for name in form.fields
        if name in form.errors and not (preset and name in RANGE_FIELDS)
    )
    custom = not preset and not range_errors and clean.get("from") and clean.get("to")
    return DashboardQuery(
        first_day=clean["from"] if custom else None,
        last_day=clean["to"] if custom else None,
        range_errors={} if preset else range_errors,
        period=clean.get("period") or DEFAULT_PERIOD,
        filters=RecordFilters(
            model=clean.get("model") or None,
            task_type=clean.get("task_type") or None,
            origin=clean.get("source") or None,
            search=clean.get("q") or None,
            project=clean.get("project") or None,
        ),
        now=now,
        cursor=clean.get("cursor"),
        rows=clean.get("rows") or PAGE_SIZE,
        sort=clean.get("sort") or DEFAULT_SORT,
        type_sort=clean.get("type_sort") or None,
        model_sort=clean.get("model_sort") or None,
        ignored=ignored,
    )
