"""How the dashboard prints values: numbers, scores, durations, instants, signs and JSON.

Pure functions of their arguments, shared by the panels (``dashboard.panels``) and the record
page (``dashboard.detail``), so a value reads the same wherever it appears.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from records.rules.scoring import PASS_THRESHOLD

DASH = "—"  # an unknown value
MINUS = "\u2212"  # a real minus sign: deltas line up and read as negative numbers

# Score tones: "good" from this score up, "fair" from the pass mark, "poor" below it.
GOOD_SCORE = 85
# Heat-map shades: the lowest bound a mean quality must reach for each class.
HEAT_STEPS = ((90, "heat-5"), (85, "heat-4"), (80, "heat-3"), (70, "heat-2"), (0, "heat-1"))
TREND_LABELS = {"improving": "↑ improving", "declining": "↓ declining", "stable": "→ stable"}


def fmt_count(value: int) -> str:
    return f"{value:,}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:,.{digits}f}"


def fmt_exact(value: float | None, digits: int = 3) -> str:
    """A stored score with the decimals it has (at least one, at most ``digits``): a given
    69.375 prints as 69.375, a computed 97.4 as 97.4."""
    if value is None:
        return DASH
    for places in range(1, digits + 1):
        if round(value, places) == round(value, digits):
            return f"{value:,.{places}f}"
    return f"{value:,.{digits}f}"


def fmt_percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}%"


def fmt_signed(value: float | None, digits: int = 1) -> str:
    """``+2.5``, ``-1,204.0``: always a sign; a minus is MINUS, not a hyphen."""
    return DASH if value is None else f"{value:+,.{digits}f}".replace("-", MINUS)


def fmt_cost(dollars: float | None) -> str:
    """``$0.0115``, ``$12.40``: cents for whole dollars, four places below a dollar."""
    if dollars is None:
        return DASH
    return f"${dollars:,.2f}" if dollars >= 1 else f"${dollars:.4f}"


def fmt_tokens(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def fmt_duration(seconds: float | None) -> str:
    """``45s``, ``5m 12s``, ``2h 05m`` — a person's reading of a duration."""
    if seconds is None:
        return DASH
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def yes_no(value: bool | None) -> str:
    return DASH if value is None else ("yes" if value else "no")


def or_dash(value: Any) -> Any:
    """The value itself, or DASH when it is unknown (None) or empty text."""
    return DASH if value is None or value == "" else value


def score_tone(value: float | None) -> str:
    """CSS tone of a 0-100 score: good at 85+, fair at the pass mark, poor below it."""
    if value is None:
        return "none"
    if value >= GOOD_SCORE:
        return "good"
    return "fair" if value >= PASS_THRESHOLD else "poor"


def heat_class(value: float | None) -> str:
    """CSS class of a heat-map cell for a mean quality."""
    if value is None:
        return "heat-none"
    return next(css for bound, css in HEAT_STEPS if value >= bound)


def trend_label(direction: str | None) -> str:
    """``↑ improving``, ``↓ declining``, ``→ stable``; None is a trend there is no data for."""
    return TREND_LABELS.get(direction or "", "too few tasks")


def iso_utc(value: datetime) -> str:
    """The instant for machines (``datetime`` attributes, chart buckets), in UTC to the second."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_text(value: datetime) -> str:
    """What a reader without JavaScript sees; the static JS rewrites it in local time."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def json_inline(value: Any) -> str:
    """A list item from JSON: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def json_list(value: Any) -> list[str]:
    """Each item of a JSON list, inline; nothing when the stored value is not a list."""
    return [json_inline(item) for item in value] if isinstance(value, list) else []


def json_pretty(value: Any) -> str:
    """A whole payload, indented for reading."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
