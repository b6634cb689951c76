"""The one description of a task: its fields, their types, limits, messages and precedence rules.

Every door turns its input into a ``Task`` here: the Python recorder, ``record_task``, the HTTP
API and the admin call ``clean_task`` in strict mode; ``import_legacy`` maps each old file shape
onto these keys first (``records.importer.normalise``) and calls it in lenient mode. The rules
below are decided once, for every door (docs/recording.md, "One task schema"):

- Aliases: the first name of each group wins when both are given (``quality_score`` over
  ``overall_score``, ``duration`` over ``duration_seconds``, ``model_used`` over ``model``, …);
  every given alias is still checked, so junk is never silently ignored. ``model_used`` passed
  as an argument (the recorder's second parameter) wins over the data.
- Scores (``quality_score``/``overall_score``, ``code_quality``): a number written with a
  fraction part in [0, 1] (``0.85``, ``1.0``) is a fraction and becomes points (85, 100); whole
  numbers are points (``1`` is one point). Points outside 0-100 are clamped, as the scoring
  contract says (lenient mode reports the clamp as a warning).
- ``quality_improvement`` is points in -100..100: strict mode refuses more, lenient clamps.
- Names (model, skills, agents) are Unicode-normalised (NFKC), invisible characters removed and
  whitespace folded, then limited to ``MAX_NAME`` characters *after* normalisation.
- Strict mode refuses anything of the wrong type or out of range, naming every bad field.
  Lenient mode (old files are what they are) also reads numbers and flags written as text,
  complexity words such as "high", structured issues, and keeps what it can of over-long values
  (text truncated, lists cut at ``MAX_LIST_ITEMS``, implausible counts and durations dropped),
  each with a warning; a value it cannot read at all is still an error.
- ``None`` always means "not given": the scoring contract's defaults apply later
  (``stored_fields``), and the importer's merge fills only what is not given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.dateparse import parse_datetime

from records.rules.classification import classify_task
from records.rules.costs import GIVEN as COST_GIVEN
from records.rules.costs import PRICE_SOURCE, Tokens, task_cost
from records.rules.names import MAX_NAME, clean_name, normalise_model_name
from records.rules.scoring import score_task

MAX_TEXT = 20_000
MAX_LABEL = 200
MAX_COMPLEXITY = 20
MAX_LIST_ITEMS = 500
MAX_ITEM_TEXT = 2_000
MAX_COUNT = 2_147_483_647
MAX_DURATION = 366 * 24 * 3600  # a year: anything longer is a unit mistake
MAX_RECORD_ID = 200
MAX_IMPROVEMENT = 100.0
MAX_COST = 100_000.0  # US dollars for one task: more is a unit mistake
MAX_JSON_DEPTH = 100  # real payloads nest a few levels; far below Python's recursion limit
MIN_YEAR, MAX_YEAR = 2000, 2100

# recorded_at as the API takes it: ISO 8601 / RFC 3339 with real calendar dates in years
# 2000-2100; time, seconds, fraction and offset optional (no offset means UTC). The OpenAPI
# schema publishes this same pattern, so the fuzzer and the validator agree on every string.
_YEAR = "(?:20[0-9]{2}|2100)"
_LEAP_YEAR = "(?:20(?:0[048]|[2468][048]|[13579][26]))"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)"
    "|(?:0[13578]|1[02])-31)"
)
_TIME = "[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.][0-9]{1,6})?)?"
_OFFSET = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
TIMESTAMP_PATTERN = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)(?:{_TIME}{_OFFSET}?)?$"
TIMESTAMP_RE = re.compile(TIMESTAMP_PATTERN)
RECORD_ID_FORBIDDEN = "/?#"

MSG_NOT_NUMBER = "Must be a number."
MSG_NOT_FINITE = "Must be a finite number (not NaN or Infinity)."
MSG_NEGATIVE = "Must not be negative."
MSG_NOT_INTEGER = "Must be a whole number."
MSG_NOT_BOOL = "Must be true or false."
MSG_NOT_TEXT = "Must be a string."
MSG_NOT_LIST = "Must be a list of strings."
MSG_NUL = "Must not contain NUL characters."
MSG_SURROGATE = "Must be valid Unicode text (no lone surrogate code points)."
MSG_DEPTH = f"Must not nest lists and objects more than {MAX_JSON_DEPTH} levels deep."
MSG_COMPLEXITY = "Must be one of: simple, medium, complex."
MSG_TIMESTAMP = "Must be an ISO 8601 timestamp, e.g. 2025-10-21T11:28:00Z."
MSG_NO_TASK = "Give a task_type or a description."
MSG_NOT_OBJECT = "Must be a JSON object."
MSG_RECORD_ID_EMPTY = "Must not be empty."
MSG_RECORD_ID_CHARS = "Must not contain whitespace, '/', '?' or '#'."
MSG_IMPROVEMENT = "Must be between -100 and 100 points."
MAX_BREAKDOWN = 50  # parts of a source's score breakdown
MSG_BREAKDOWN = (
    f"Must be a JSON object of at most {MAX_BREAKDOWN} parts, each a name of at most "
    f"{MAX_LABEL} characters and a finite number."
)

# Each group: the keys that say the same thing, the winner first.
ALIASES: dict[str, tuple[str, ...]] = {
    "complexity": ("complexity", "task_complexity"),
    "model": ("model_used", "model"),
    "duration": ("duration", "duration_seconds"),
    "skills": ("skills_used", "skills"),
    "agents": ("agents_delegated", "agents"),
    "quality": ("quality_score", "overall_score"),
    "breakdown": ("breakdown", "score_breakdown"),
}
# Lenient mode only: the words old files used for complexity, and for true/false.
COMPLEXITY_WORDS = {
    "simple": "simple",
    "low": "simple",
    "easy": "simple",
    "trivial": "simple",
    "medium": "medium",
    "moderate": "medium",
    "normal": "medium",
    "complex": "complex",
    "high": "complex",
    "hard": "complex",
    "very high": "complex",
}
COMPLEXITIES = ("simple", "medium", "complex")
FLAG_WORDS = {
    "true": True,
    "yes": True,
    "passed": True,
    "success": True,
    "completed": True,
    "false": False,
    "no": False,
    "failed": False,
    "failure": False,
}
_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Task:
    """A task as Perfsite understands it; ``None`` means "not given"."""

    record_id: str | None = None
    recorded_at: datetime | None = None
    task_label: str | None = None
    description: str | None = None
    complexity: str | None = None
    model: str | None = None  # normalised
    duration_seconds: float | None = None
    success: bool | None = None
    skills: list[str] | None = None
    agents: list[str] | None = None
    files_modified: int | None = None
    lines_changed: int | None = None
    issues: list[str] | None = None
    issues_count: int | None = None
    recommendations: list[str] | None = None
    code_quality: float | None = None  # points
    explicit_quality: float | None = (
        None  # points: a manual assessment, used instead of the formula
    )
    best_practices_followed: bool | None = None
    documentation_updated: bool | None = None
    quality_improvement: float | None = None
    # Scores a source gave (points): kept as given; the formulas fill only what is missing.
    time_efficiency: float | None = None
    performance_index: float | None = None
    breakdown: dict[str, float] | None = None  # the source's own score breakdown
    auto_generated: bool | None = None
    session_id: str | None = None
    project: str | None = None  # cleaned like a name: it groups and filters
    git_branch: str | None = None
    advice: str | None = None  # the advice the agent was given before the task, if any
    input_tokens: int | None = None  # not read from or written to the prompt cache
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    cost_usd: float | None = None


TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
# Where and with what the agent worked: stored as given, no formula reads them (cost aside).
CONTEXT_FIELDS = ("session_id", "project", "git_branch", "advice", *TOKEN_FIELDS, "cost_usd")
MAX_ADVICE = 1000
TASK_FIELDS = tuple(f.name for f in fields(Task))
# Scoring inputs (and auto_generated) a source may or may not have given: stored in
# score_breakdown["given"], so that a later source can fill what an earlier one lacked.
GIVEN_FLAGS = (
    "success",
    "best_practices_followed",
    "documentation_updated",
    "code_quality",
    "quality_improvement",
    "auto_generated",
)
# Stored scores that are either given by the source or computed by the formulas; the given ones
# are named in score_breakdown["given"] too (docs/scoring.md, "Given numbers stay").
GIVEN_SCORES = ("quality_score", "performance_index", "time_efficiency", "quality_improvement")
# score_breakdown keys that are not score components: internal flags and the source's breakdown.
BREAKDOWN_META = ("manual", "given", "source")


def describe(value: Any) -> str:
    """A value as a short phrase for a message: ``"abc"``, ``12``, ``true``, ``a list``."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return f"a {'list' if isinstance(value, list | tuple) else 'JSON object'}"


@dataclass(frozen=True)
class Problem:
    """One reason a field was refused, with the value that caused it."""

    key: str
    message: str
    value: Any
    item: bool = False  # the value is one item of a list

    def reason(self, label: str | None = None) -> str:
        """``key: must be a number, got "abc"``: the importer's one-line report of it."""
        message = self.message[0].lower() + self.message[1:].rstrip(".")
        got = ("an item " if self.item else "") + describe(self.value)
        return f"{label or self.key}: {message}, got {got}"


class TaskInvalid(ValidationError):
    """A ``ValidationError`` keyed by field, which also keeps each ``Problem``."""

    def __init__(self, problems: list[Problem]):
        by_key: dict[str, list[ValidationError]] = {}
        for problem in problems:
            by_key.setdefault(problem.key, []).append(
                ValidationError(problem.message, code="invalid")
            )
        super().__init__(by_key)
        self.problems = problems


class FieldReader:
    """Reads typed values out of one input mapping, collecting problems and (lenient) warnings."""

    def __init__(self, data: Mapping[str, Any], *, lenient: bool, warnings: list[str]):
        self.data = data
        self.lenient = lenient
        self.problems: list[Problem] = []
        self.warnings = warnings

    def given(self, *keys: str) -> list[tuple[str, Any]]:
        return [(key, self.data[key]) for key in keys if self.data.get(key) is not None]

    def first(self, group: str, read) -> Any:
        """Read every given alias of ``group`` (so junk is reported); the first one wins."""
        data = self.data
        values = [read(key, data[key]) for key in ALIASES[group] if data.get(key) is not None]
        return values[0] if values else None

    def problem(self, key: str, message: str, value: Any, *, item: bool = False) -> None:
        self.problems.append(Problem(key, message, value, item))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")

    # --- typed readers: each returns None (having said why) when the value is unusable --------

    def number(self, key: str, value: Any) -> float | None:
        if self.lenient and isinstance(value, str) and _NUMERIC.match(value.strip()):
            value = float(value.strip())
        # A number, not a string that looks like one: the HTTP API's OpenAPI schema says
        # "number", and a request it calls invalid must be refused.
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(key, MSG_NOT_NUMBER, value)
            return None
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            self.problem(key, MSG_NOT_FINITE, value)
            return None
        if not math.isfinite(number):
            self.problem(key, MSG_NOT_FINITE, value)
            return None
        return number

    def score(self, key: str, value: Any) -> float | None:
        """Points 0-100: a number with a fraction part in [0, 1] is a fraction; clamped."""
        number = self.number(key, value)
        if number is None:
            return None
        if isinstance(value, str):
            is_fraction = "." in value and 0.0 <= number <= 1.0
        else:
            is_fraction = isinstance(value, float) and 0.0 <= number <= 1.0
        points = number * 100.0 if is_fraction else number
        if not 0.0 <= points <= 100.0:
            clamped = min(100.0, max(0.0, points))
            if self.lenient:
                self.warn(key, f"{describe(value)} is outside 0-100; clamped to {clamped:g}")
            points = clamped
        return points

    def count(self, key: str, value: Any) -> int | None:
        if self.lenient and isinstance(value, list | tuple):  # files_modified: ["README.md"]
            return len(value)
        number = self.number(key, value)
        if number is None:
            return None
        if number != int(number):
            self.problem(key, MSG_NOT_INTEGER, value)
            return None
        if number < 0 or number > MAX_COUNT:
            self.out_of_range(key, value, f"Must be at most {MAX_COUNT}.", "is out of range")
            return None
        return int(number)

    def out_of_range(self, key: str, value: Any, too_large: str, implausible: str) -> None:
        """A number below 0 or above its bound: refused (strict) or dropped with a warning."""
        if self.lenient:
            self.warn(key, f"{describe(value)} {implausible}; ignored")
        elif isinstance(value, int | float) and value < 0:
            self.problem(key, MSG_NEGATIVE, value)
        else:
            self.problem(key, too_large, value)

    def flag(self, key: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if self.lenient:
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in FLAG_WORDS:
                return FLAG_WORDS[value.strip().lower()]
        self.problem(key, MSG_NOT_BOOL, value)
        return None

    def text(self, key: str, value: Any, limit: int) -> str | None:
        if not isinstance(value, str):
            self.problem(key, MSG_NOT_TEXT, value)
            return None
        if "\x00" in value:
            self.problem(key, MSG_NUL, value)
            return None
        if len(value) > limit:
            if not self.lenient:  # counted as given, so that a schema's maxLength says the same
                self.problem(key, f"Must be at most {limit} characters (got {len(value)}).", value)
                return None
            value = value.strip()
            if len(value) > limit:
                self.warn(key, f"{len(value)} characters; the first {limit} are kept")
                value = value[:limit]
        return value.strip()

    def _items(self, key: str, value: Any, message: str) -> list[Any] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            self.problem(key, message, value)
            return None
        if len(value) > MAX_LIST_ITEMS:
            if not self.lenient:
                self.problem(
                    key, f"Must have at most {MAX_LIST_ITEMS} items (got {len(value)}).", value
                )
                return None
            self.warn(key, f"{len(value)} items; the first {MAX_LIST_ITEMS} are kept")
            value = value[:MAX_LIST_ITEMS]
        return list(value)

    def _item(self, key: str, item: Any, limit: int) -> str | None:
        """One list item as text within ``limit``; None (having said why) fails the list."""
        if not isinstance(item, str):
            self.problem(key, MSG_NOT_LIST, item, item=True)
            return None
        if "\x00" in item:
            self.problem(key, MSG_NUL, item, item=True)
            return None
        if len(item) > limit and not self.lenient:
            self.problem(key, f"Each item must be at most {limit} characters.", item)
            return None
        return item

    def names(self, key: str, value: Any) -> list[str] | None:
        """Skill or agent names: cleaned (``clean_name``), at most MAX_NAME long, no repeats."""
        items = self._items(key, value, MSG_NOT_LIST)
        if items is None:
            return None
        names: list[str] = []
        for item in items:
            text = self._item(key, item, MAX_NAME)
            if text is None:
                return None
            name = clean_name(text)
            if len(name) > MAX_NAME:
                self.warn(key, f"a name of {len(name)} characters; the first {MAX_NAME} are kept")
                name = name[:MAX_NAME].rstrip()
            if name:
                names.append(name)
        return list(dict.fromkeys(names))  # drop repeats, keep order

    def texts(self, key: str, value: Any) -> list[str] | None:
        """Issues or recommendations: strings (lenient: structured items keep their message)."""
        items = self._items(key, value, MSG_NOT_LIST)
        if items is None:
            return None
        texts: list[str] = []
        for item in items:
            text = self._item(key, _item_text(item) if self.lenient else item, MAX_ITEM_TEXT)
            if text is None:
                return None
            text = text[:MAX_ITEM_TEXT].strip()
            if text:
                texts.append(text)
        return texts


def _item_text(item: Any) -> Any:
    """An issue or recommendation as text; structured ones keep their message."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        for key in ("message", "description", "issue", "title", "text", "recommendation"):
            if isinstance(item.get(key), str):
                return item[key]
    return json.dumps(item, ensure_ascii=False, sort_keys=True)


def _is_number_like(value: Any, *, lenient: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return lenient and isinstance(value, str) and bool(_NUMERIC.match(value.strip()))


def parse_timestamp(value: Any, *, assume_tz=UTC) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (Z, offsets, ``+00:00Z``, naive) or epoch seconds."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            return None
        seconds = value / 1000 if abs(value) > 1e11 else value  # epoch milliseconds
        try:
            parsed = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z") and ("+" in text[10:] or text[10:].count("-") > 0):
            text = text[:-1]  # "+00:00Z": an offset and a Z, written by the old tool
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = parse_datetime(text)
        except ValueError:
            return None
        if parsed is None:
            return None
    else:
        return None
    # The year as written: a sanity bound (no record from 1970 or 9999), checked before the
    # conversion so that year 1 or 9999 with an offset cannot overflow.
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed.astimezone(UTC)


def clean_task(
    data: Any,
    *,
    model_used: Any = None,
    lenient: bool = False,
    warnings: list[str] | None = None,
) -> Task:
    """Turn one input mapping into a ``Task``, or raise ``TaskInvalid`` naming every bad field.

    ``lenient`` is for the legacy importer (see the module docstring); its warnings are appended
    to ``warnings``. Keys that are not task fields are ignored here (the payload keeps them).
    """
    if not isinstance(data, Mapping):
        raise TaskInvalid([Problem("task_data", MSG_NOT_OBJECT, data)])
    r = FieldReader(data, lenient=lenient, warnings=[] if warnings is None else warnings)
    task = Task()

    if data.get("task_type") is not None:
        task.task_label = r.text("task_type", data["task_type"], MAX_LABEL) or None
    if data.get("description") is not None:
        task.description = r.text("description", data["description"], MAX_TEXT) or None
    text_problems = {"task_type", "description"} & {p.key for p in r.problems}
    if not lenient and not text_problems and not task.task_label and not task.description:
        r.problem("task_type", MSG_NO_TASK, data.get("task_type"))

    task.complexity = r.first("complexity", lambda key, value: _complexity(r, key, value))

    models = [] if model_used is None else [("model_used", model_used)]
    model_names = [
        r.text(key, value, MAX_NAME) for key, value in models + r.given(*ALIASES["model"])
    ]
    if model_names and model_names[0]:
        task.model = normalise_model_name(model_names[0])

    task.duration_seconds = r.first("duration", lambda key, value: _duration(r, key, value))

    for key in ("success", "best_practices_followed", "documentation_updated", "auto_generated"):
        if data.get(key) is not None:
            setattr(task, key, r.flag(key, data[key]))

    task.skills = r.first("skills", r.names)
    task.agents = r.first("agents", r.names)

    for key in ("files_modified", "lines_changed"):
        if data.get(key) is not None:
            setattr(task, key, r.count(key, data[key]))

    if data.get("issues_found") is not None:
        value = data["issues_found"]
        if _is_number_like(value, lenient=lenient):  # the old tool sometimes wrote a count
            task.issues_count = r.count("issues_found", value)
        else:
            task.issues = r.texts("issues_found", value)
            if task.issues is not None:
                task.issues_count = len(task.issues)

    if data.get("recommendations") is not None:
        task.recommendations = r.texts("recommendations", data["recommendations"])

    if data.get("code_quality") is not None:
        task.code_quality = r.score("code_quality", data["code_quality"])
    task.explicit_quality = r.first("quality", r.score)

    if data.get("quality_improvement") is not None:
        task.quality_improvement = _improvement(r, data["quality_improvement"])

    # Given scores are kept as given; the scoring contract computes only the missing ones.
    for key in ("performance_index", "time_efficiency"):
        if data.get(key) is not None:
            setattr(task, key, r.score(key, data[key]))
    task.breakdown = r.first("breakdown", lambda key, value: _breakdown(r, key, value))

    for key in ("session_id", "git_branch"):
        if data.get(key) is not None:
            setattr(task, key, r.text(key, data[key], MAX_LABEL) or None)
    if data.get("advice") is not None:
        task.advice = r.text("advice", data["advice"], MAX_ADVICE) or None
    if data.get("project") is not None:
        project = r.text("project", data["project"], MAX_NAME)
        task.project = clean_name(project) or None if project else None
    for key in TOKEN_FIELDS:
        if data.get(key) is not None:
            setattr(task, key, r.count(key, data[key]))
    if data.get("cost_usd") is not None:
        task.cost_usd = _cost(r, data["cost_usd"])

    if data.get("recorded_at") is not None:
        task.recorded_at = _recorded_at(r, data["recorded_at"])
    if data.get("record_id") is not None:
        task.record_id = _record_id(r, data["record_id"])

    if r.problems:
        raise TaskInvalid(r.problems)
    return task


def clean_task_data(task_data: Any, model_used: Any = None) -> Task:
    """Strict ``clean_task``, with the recorder's signature: what every new-task door calls."""
    return clean_task(task_data, model_used=model_used)


def _complexity(r: FieldReader, key: str, value: Any) -> str | None:
    text = r.text(key, value, MAX_COMPLEXITY if not r.lenient else 40)
    if not text:
        return None
    word = text.lower()
    if r.lenient:
        if word not in COMPLEXITY_WORDS:
            r.warn(key, f"{describe(value)} is not simple, medium or complex; left empty")
        return COMPLEXITY_WORDS.get(word)
    if word not in COMPLEXITIES:
        r.problem(key, MSG_COMPLEXITY, value)
        return None
    return word


def _duration(r: FieldReader, key: str, value: Any) -> float | None:
    number = r.number(key, value)
    if number is None:
        return None
    if 0 <= number <= MAX_DURATION:
        return number
    too_large = f"Must be at most {MAX_DURATION} seconds (a year)."
    r.out_of_range(key, value, too_large, "is not a plausible duration")
    return None


def _improvement(r: FieldReader, value: Any) -> float | None:
    number = r.number("quality_improvement", value)
    if number is None or abs(number) <= MAX_IMPROVEMENT:
        return number
    if not r.lenient:
        r.problem("quality_improvement", MSG_IMPROVEMENT, value)
        return None
    clamped = math.copysign(MAX_IMPROVEMENT, number)
    r.warn("quality_improvement", f"{describe(value)} is outside -100..100; clamped to {clamped:g}")
    return clamped


def _breakdown(r: FieldReader, key: str, value: Any) -> dict[str, float] | None:
    """A source's own score breakdown: names -> numbers (lenient: unreadable parts dropped)."""
    if not isinstance(value, Mapping):
        r.problem(key, MSG_BREAKDOWN, value)
        return None
    parts: dict[str, float] = {}
    for name, number in value.items():
        if _breakdown_part(name, number):
            parts[name] = number
        elif not r.lenient:
            r.problem(key, MSG_BREAKDOWN, value)
            return None
        else:
            r.warn(key, f"part {describe(name)} is not a name and a number; left out")
    if len(parts) > MAX_BREAKDOWN:
        if not r.lenient:
            r.problem(key, MSG_BREAKDOWN, value)
            return None
        r.warn(key, f"{len(parts)} parts; the first {MAX_BREAKDOWN} are kept")
        parts = dict(list(parts.items())[:MAX_BREAKDOWN])
    return parts or None


def _breakdown_part(name: Any, number: Any) -> bool:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_LABEL or "\x00" in name:
        return False
    if isinstance(number, bool) or not isinstance(number, int | float):
        return False
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _cost(r: FieldReader, value: Any) -> float | None:
    number = r.number("cost_usd", value)
    if number is None or 0 <= number <= MAX_COST:
        return number
    r.out_of_range("cost_usd", value, f"Must be at most {MAX_COST:g} dollars.", "is not a cost")
    return None


def _recorded_at(r: FieldReader, value: Any) -> datetime | None:
    if isinstance(value, datetime) or (
        isinstance(value, str) and TIMESTAMP_RE.fullmatch(value)
    ):  # from Python, or the importer's own timestamp reading
        parsed = parse_timestamp(value)
    else:
        parsed = None
    if parsed is None:
        r.problem("recorded_at", MSG_TIMESTAMP + f" Years {MIN_YEAR}-{MAX_YEAR}.", value)
    return parsed


def _record_id(r: FieldReader, value: Any) -> str | None:
    text = r.text("record_id", value, MAX_RECORD_ID)
    if text is None:
        return None
    if not value:
        r.problem("record_id", MSG_RECORD_ID_EMPTY, value)
    elif any(ch.isspace() or ch in RECORD_ID_FORBIDDEN for ch in value):
        r.problem("record_id", MSG_RECORD_ID_CHARS, value)
    else:
        return value
    return None


def stored_fields(task: Task, *, auto_default: bool) -> dict[str, Any]:
    """The TaskRecord columns a task decides, with the scoring contract's defaults applied.

    Scores the task gives (quality, performance index, time efficiency, improvement, the
    source's breakdown) are stored as given; the formulas fill only the missing ones, and
    ``score_breakdown["given"]`` names the given ones (``given_scores`` reads it back).

    Not included (each door decides them): record_id, recorded_at, model, quality_improvement
    when not given (it needs the baseline), source and raw payloads. ``cost_usd`` is the given
    cost, else computed from the tokens and the model (``records.rules.costs``).
    ``auto_default`` is what ``auto_generated`` is when the task does not say: true for the
    recording doors, false for imported history.
    """
    success = True if task.success is None else task.success
    issues = task.issues or []
    issues_count = len(issues) if issues else (task.issues_count or 0)
    scores = score_task(
        success=success,
        issues_count=issues_count,
        code_quality=task.code_quality,
        duration_seconds=task.duration_seconds,
        best_practices_followed=(
            True if task.best_practices_followed is None else task.best_practices_followed
        ),
        documentation_updated=bool(task.documentation_updated),
        explicit_quality=task.explicit_quality,
        given_time_efficiency=task.time_efficiency,
        given_performance_index=task.performance_index,
    )
    given = [name for name in GIVEN_FLAGS if getattr(task, name) is not None]
    given += [name for name in scores.given if name not in given]
    if task.breakdown:
        given.append("breakdown")
    meta: dict[str, Any] = {"manual": scores.manual, "given": given}
    if task.breakdown:
        meta["source"] = dict(task.breakdown)
    tokens = Tokens(
        input=task.input_tokens,
        output=task.output_tokens,
        cache_read=task.cache_read_tokens,
        cache_creation=task.cache_creation_tokens,
    )
    cost, cost_source = task.cost_usd, COST_GIVEN
    if cost is None:
        cost = task_cost(task.model, tokens)
        cost_source = "" if cost is None else PRICE_SOURCE
    return {
        "task_type": classify_task(task.description, task.task_label),
        "task_label": task.task_label or "",
        "description": task.description or "",
        "complexity": task.complexity or "",
        "success": success,
        "quality_score": scores.quality_score,
        "performance_index": scores.performance_index,
        "time_efficiency": scores.time_efficiency,
        "duration_seconds": task.duration_seconds,
        "files_modified": task.files_modified,
        "lines_changed": task.lines_changed,
        "issues": issues,
        "issues_count": issues_count,
        "recommendations": task.recommendations or [],
        "score_breakdown": scores.breakdown | meta,
        "auto_generated": auto_default if task.auto_generated is None else task.auto_generated,
        "session_id": task.session_id or "",
        "project": task.project or "",
        "git_branch": task.git_branch or "",
        "advice": task.advice or "",
        **{name: getattr(task, name) for name in TOKEN_FIELDS},
        "cost_usd": cost,
        "cost_source": cost_source,
    }


def given_scores(breakdown: Any) -> set[str]:
    """Which of GIVEN_SCORES (and "breakdown") a stored score breakdown says were given.

    Records written before given scores were kept list only GIVEN_FLAGS (or nothing): their
    quality was given when ``manual`` says so, the rest was computed.
    """
    if not isinstance(breakdown, Mapping):
        return set()
    given = breakdown.get("given")
    names = set(given) if isinstance(given, list) else set()
    if breakdown.get("manual"):
        names.add("quality_score")
    if isinstance(breakdown.get("source"), Mapping) and breakdown["source"]:
        names.add("breakdown")
    return names & {*GIVEN_SCORES, "breakdown"}


def stored_context(record: Any) -> dict[str, Any]:
    """A stored record's session, project, branch, tokens and given cost as task fields (empty
    ones as None); a computed cost is left out, so that it is computed again."""
    values = {name: getattr(record, name) for name in CONTEXT_FIELDS}
    values = {name: None if value == "" else value for name, value in values.items()}
    if record.cost_source != COST_GIVEN:
        values["cost_usd"] = None
    return values


# --- the payload kept verbatim beside the task -----------------------------------------------


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` levels: no recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def text_problem(value: Any) -> str | None:
    """Why a JSON value's strings (keys too) cannot be stored as text, or None: no recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return MSG_NUL  # PostgreSQL cannot store NUL in text or jsonb
            if _SURROGATE.search(item):
                return MSG_SURROGATE  # not encodable as UTF-8, by either database
    return None


def parsed_json_problem(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """``json_too_deep`` and ``text_problem`` in one walk, level by level, for a value
    ``json.loads`` made (so only dicts, lists, strings, numbers, booleans and None)."""
    level, depth = [value], 1
    while level:
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str:
                if "\x00" in item or (not item.isascii() and _SURROGATE.search(item)):
                    return MSG_NUL if "\x00" in item else MSG_SURROGATE
            elif kind is dict:
                if depth > limit:
                    return MSG_DEPTH
                below += item.values()
                for key in item:
                    if "\x00" in key or (not key.isascii() and _SURROGATE.search(key)):
                        return MSG_NUL if "\x00" in key else MSG_SURROGATE
            elif kind is list:
                if depth > limit:
                    return MSG_DEPTH
                below += item
        level, depth = below, depth + 1
    return None


def json_safe_payload(payload: Any, *, parsed: bool = False) -> Any:
    """The payload as it will be stored: plain JSON, no NaN/Infinity, no NUL, valid Unicode.

    ``parsed``: the payload is what strict JSON parsing (``ingest.parse_json``) returned, plain
    JSON already, so only its depth and text are checked (one walk) and it is returned as is.
    """
    if parsed:
        problem = parsed_json_problem(payload)
        if problem:
            raise ValidationError({"task_data": [problem]})
        return payload
    if json_too_deep(payload):
        raise ValidationError({"task_data": [MSG_DEPTH]})
    try:
        text = json.dumps(payload, cls=DjangoJSONEncoder, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(
            {"task_data": [f"Must be plain JSON without NaN or Infinity ({exc})."]}
        ) from exc
    value = json.loads(text)
    problem = text_problem(value)
    if problem:
        raise ValidationError({"task_data": [problem]})
    return value
