"""The two sides of ``/compare/``: slices written ``KIND:VALUE`` (``model:GLM 4.6``, ``period:7d``).

A slice narrows the view (its period and filters) to the records one side covers. Each kind is
a ``SliceKind`` in ``KINDS``, the registry: its parser reads the value and returns a ``Slice``
whose ``narrow`` turns the view's ``Scope`` into the side's. A new kind (issue 20's "advised")
is one parser and one ``register`` call; nothing else here changes.

Kinds (docs/dashboard.md#compare):

- ``model:NAME``      a stored model (exact or normalised name)
- ``period:P``        ``24h`` … ``90d``, ``all``; ``prevP`` the window of the same length before
                      it (``prev7d``); ``YYYY-MM-DD..YYYY-MM-DD`` whole days (inclusive) of the
                      current time zone, or one day ``YYYY-MM-DD``
- ``skill:NAME``      the records that used the skill; ``noskill:NAME`` those that did not
- ``project:NAME``    a project (when the records carry one)
- ``advised:yes|no``  the turns whose agent was given Perfsite's advice (TaskRecord.advice), or
                      the others

Pure apart from the name checks the caller passes in (``Lookups``): no database here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from records.rules.names import clean_name, normalise_model_name
from records.rules.periods import PERIODS, Window, period_window
from records.stats.filters import RecordFilters

MAX_SLICE = 220  # characters of a whole slice (a name is at most 200)
MAX_DAYS = 3660  # an explicit date range of at most ten years

PERIOD_PHRASES = {
    "24h": "the last 24 hours",
    "3d": "the last 3 days",
    "7d": "the last 7 days",
    "30d": "the last 30 days",
    "90d": "the last 90 days",
    "all": "all time",
}
PREVIOUS_PHRASES = {
    "24h": "the 24 hours before",
    "3d": "the 3 days before",
    "7d": "the 7 days before",
    "30d": "the 30 days before",
    "90d": "the 90 days before",
}

# Messages (tests assert against these).
MISSING_SIDE = "Give the {side} side as KIND:VALUE, e.g. {side}=model:GLM+4.6."
NO_KIND = "“{text}” is not KIND:VALUE; kinds: {kinds}."
UNKNOWN_KIND = "Unknown slice kind “{kind}”; use one of: {kinds}."
EMPTY_VALUE = "“{kind}:” needs a value after the colon."
TOO_LONG = f"A slice is at most {MAX_SLICE} characters."
NUL_CHARACTER = "A slice cannot contain a NUL character."
UNKNOWN_MODEL = "No model is called “{value}”."
UNKNOWN_SKILL = "No skill is called “{value}”."
UNKNOWN_PROJECT = "No project is called “{value}”."
NO_PROJECTS = "Records carry no project yet, so project slices cannot be read."
BAD_PERIOD = (
    "Unknown period “{value}”; use "
    + ", ".join(PERIODS)
    + ", prev + one of those (prev7d), or YYYY-MM-DD..YYYY-MM-DD."
)
BAD_DATES = "“{value}” is not a date range: use YYYY-MM-DD..YYYY-MM-DD, first day first."
LONG_DATES = f"A date range is at most {MAX_DAYS} days."
BAD_ADVISED = "“advised:{value}”: use advised:yes or advised:no."
SAME_SIDES = "Both sides are “{text}”: compare two different slices."


class SliceError(ValueError):
    """A slice that cannot be read; ``str()`` says why, for the page."""


@dataclass(frozen=True)
class Scope:
    """The records one side covers: a window, the filters, and a skill present or absent."""

    window: Window
    filters: RecordFilters
    skill: str | None = None
    skill_present: bool = True  # False: the records of the scope *without* ``skill``
    advised: bool | None = None  # True: the records given Perfsite's advice; False: the others


@dataclass(frozen=True)
class Slice:
    kind: str
    value: str  # canonical (the stored name, the period key)
    label: str  # how a heading names it: "GLM 4.6", "the last 7 days", "with code-analysis"
    subject: str  # a sentence's subject: "GLM 4.6", "tasks of the last 7 days"
    plural: bool  # "tasks … pass" (True) or "GLM 4.6 passes" (False)
    narrow: Callable[[Scope], Scope] = field(compare=False, repr=False)

    @property
    def text(self) -> str:
        """The slice as the URL writes it."""
        return f"{self.kind}:{self.value}"

    @property
    def sets_period(self) -> bool:
        return self.kind == "period"


@dataclass(frozen=True)
class Lookups:
    """What a parser may ask about stored names, and the time the view ends."""

    now: datetime
    model_exists: Callable[[str], bool]
    skill_exists: Callable[[str], bool]
    project_exists: Callable[[str], bool] | None = None  # None: records carry no project


@dataclass(frozen=True)
class SliceKind:
    name: str
    syntax: str  # for help texts: "model:NAME"
    parse: Callable[[str, Lookups], Slice]
    # The other side when only one is given (skill:X -> noskill:X), or None.
    complement: Callable[[Slice], str] | None = None


KINDS: dict[str, SliceKind] = {}


def register(kind: SliceKind) -> SliceKind:
    KINDS[kind.name] = kind
    return kind


def kinds_text() -> str:
    return ", ".join(kind.syntax for kind in KINDS.values())


def parse_slice(text: str, lookups: Lookups) -> Slice:
    """``KIND:VALUE`` as a Slice, or SliceError saying what is wrong with it."""
    if len(text) > MAX_SLICE:
        raise SliceError(TOO_LONG)
    if "\x00" in text:  # no stored name has one (PostgreSQL cannot even compare with it)
        raise SliceError(NUL_CHARACTER)
    kind_name, colon, value = text.partition(":")
    kind_name = kind_name.strip().lower()
    if not colon:
        raise SliceError(NO_KIND.format(text=text, kinds=kinds_text()))
    kind = KINDS.get(kind_name)
    if kind is None:
        raise SliceError(UNKNOWN_KIND.format(kind=kind_name, kinds=kinds_text()))
    value = clean_name(value)
    if not value:
        raise SliceError(EMPTY_VALUE.format(kind=kind_name))
    return kind.parse(value, lookups)


@dataclass(frozen=True)
class Sides:
    """The two sides of a comparison, or the errors that stopped them (field -> message)."""

    a: Slice | None = None
    b: Slice | None = None
    errors: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)  # the raw a and b, to refill the form

    @property
    def ready(self) -> bool:
        return self.a is not None and self.b is not None and not self.errors


def parse_sides(data: Mapping[str, str], lookups: Lookups) -> Sides:
    """``a`` and ``b`` from the query string. A missing ``b`` is ``a``'s complement when its
    kind has one (skill:X -> noskill:X, period:7d -> period:prev7d)."""
    given = {side: str(data.get(side, "") or "").strip() for side in ("a", "b")}
    if not any(given.values()):
        return Sides(given=given)
    parsed: dict[str, Slice] = {}
    errors: dict[str, str] = {}
    for side in ("a", "b"):
        if not given[side]:
            continue
        try:
            parsed[side] = parse_slice(given[side], lookups)
        except SliceError as exc:
            errors[side] = str(exc)
    if not given["b"] and "a" in parsed:
        complement = KINDS[parsed["a"].kind].complement
        if complement is not None:
            given["b"] = complement(parsed["a"])
            try:
                parsed["b"] = parse_slice(given["b"], lookups)
            except SliceError as exc:
                errors["b"] = str(exc)
    for side in ("a", "b"):
        if side not in parsed and side not in errors:
            errors[side] = MISSING_SIDE.format(side=side)
    if not errors and parsed["a"] == parsed["b"]:
        errors["b"] = SAME_SIDES.format(text=parsed["a"].text)
    return Sides(a=parsed.get("a"), b=parsed.get("b"), errors=errors, given=given)


# --- the kinds ------------------------------------------------------------------------------


def _with_filters(**changes: str | None) -> Callable[[Scope], Scope]:
    def narrow(scope: Scope) -> Scope:
        return replace(scope, filters=replace(scope.filters, **changes))

    return narrow


def _model(value: str, lookups: Lookups) -> Slice:
    name = value
    if not lookups.model_exists(name):  # "glm-4.6" finds "GLM 4.6"
        name = normalise_model_name(value)
        if name == value or not lookups.model_exists(name):
            raise SliceError(UNKNOWN_MODEL.format(value=value))
    return Slice("model", name, name, name, False, _with_filters(model=name))


def _project(value: str, lookups: Lookups) -> Slice:
    if lookups.project_exists is None:
        raise SliceError(NO_PROJECTS)
    if not lookups.project_exists(value):
        raise SliceError(UNKNOWN_PROJECT.format(value=value))
    return Slice(
        "project",
        value,
        f"project {value}",
        f"tasks in {value}",
        True,
        _with_filters(project=value),
    )


def _skill(present: bool) -> Callable[[str, Lookups], Slice]:
    kind, word = ("skill", "with") if present else ("noskill", "without")

    def parse(value: str, lookups: Lookups) -> Slice:
        if not lookups.skill_exists(value):
            raise SliceError(UNKNOWN_SKILL.format(value=value))

        def narrow(scope: Scope) -> Scope:
            return replace(scope, skill=value, skill_present=present)

        return Slice(kind, value, f"{word} {value}", f"tasks {word} {value}", True, narrow)

    return parse


_DATE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")


def _days_window(first: date, last: date) -> Window:
    """Whole local days first..last: records from first's midnight up to (not at) the midnight
    after last. Windows are (start, end], so both ends sit one microsecond before midnight."""
    zone = timezone.get_current_timezone()
    tick = timedelta(microseconds=1)
    start = datetime.combine(first, time.min, tzinfo=zone) - tick
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) - tick
    return Window(start=start, end=end)


def _period(value: str, lookups: Lookups) -> Slice:
    key = value.lower()
    if key in PERIODS:
        window, phrase = period_window(key, lookups.now), PERIOD_PHRASES[key]
    elif key.startswith("prev") and key[4:] in PREVIOUS_PHRASES:
        window = period_window(key[4:], lookups.now).previous()
        phrase = PREVIOUS_PHRASES[key[4:]]
    elif (match := _DATE_RANGE.match(key)) is not None:
        try:
            first = date.fromisoformat(match[1])
            last = date.fromisoformat(match[2] or match[1])
        except ValueError as exc:
            raise SliceError(BAD_DATES.format(value=value)) from exc
        if last < first:
            raise SliceError(BAD_DATES.format(value=value))
        if (last - first).days + 1 > MAX_DAYS:
            raise SliceError(LONG_DATES)
        window = _days_window(first, last)
        phrase = first.isoformat() if first == last else f"{first} to {last}"
    else:
        raise SliceError(BAD_PERIOD.format(value=value))

    def narrow(scope: Scope) -> Scope:
        return replace(scope, window=window)

    return Slice("period", key, phrase, f"tasks of {phrase}", True, narrow)


def _advised(value: str, lookups: Lookups) -> Slice:
    key = value.lower()
    if key not in {"yes", "no"}:
        raise SliceError(BAD_ADVISED.format(value=value))
    advised = key == "yes"

    def narrow(scope: Scope) -> Scope:
        return replace(scope, advised=advised)

    label = "advised by Perfsite" if advised else "not advised"
    return Slice("advised", key, label, f"tasks {label}", True, narrow)


def _previous_period(side: Slice) -> str:
    if side.value in PREVIOUS_PHRASES:
        return f"period:prev{side.value}"
    if side.value.startswith("prev"):
        return f"period:{side.value[4:]}"
    return f"period:{side.value}"  # no complement: "the two sides are the same" says so


register(SliceKind("model", "model:NAME", _model))
register(SliceKind("period", "period:7d|prev7d|YYYY-MM-DD..YYYY-MM-DD", _period, _previous_period))
register(SliceKind("skill", "skill:NAME", _skill(True), lambda s: f"noskill:{s.value}"))
register(SliceKind("noskill", "noskill:NAME", _skill(False), lambda s: f"skill:{s.value}"))
register(SliceKind("project", "project:NAME", _project))
register(
    SliceKind(
        "advised",
        "advised:yes|no",
        _advised,
        lambda s: f"advised:{'no' if s.value == 'yes' else 'yes'}",
    )
)
