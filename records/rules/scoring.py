"""The scoring contract (docs/scoring.md): pure functions, every number fixed.

Nothing here touches the database; the recorder and the legacy importer both call these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PASS_THRESHOLD = 70.0
BASELINE_WINDOW = 10

WEIGHTS = {
    "task_completion": 0.30,
    "code_quality": 0.25,
    "efficiency": 0.20,
    "best_practices": 0.15,
    "documentation": 0.10,
}


_TENTH = Decimal("0.1")


def round1(value: float) -> float:
    """Round half up to one decimal, as a person does it (91.25 -> 91.3, not banker's 91.2)."""
    return float(Decimal(repr(float(value))).quantize(_TENTH, rounding=ROUND_HALF_UP))


GIVEN_DIGITS = 3  # a score a source gives is kept to this many decimals (69.375 stays 69.375)


def round_given(value: float) -> float:
    """A given score as stored: clamped to 0-100, rounded half up to GIVEN_DIGITS decimals (so a
    fraction turned into points, 0.69375 * 100, loses its binary noise but nothing else)."""
    quantum = Decimal(1).scaleb(-GIVEN_DIGITS)
    return float(Decimal(repr(clamp(float(value)))).quantize(quantum, rounding=ROUND_HALF_UP))


def tenths(value: float) -> int:
    """A score in whole tenths, rounded half up: what rollups and aggregates sum (the database
    computes the same with FLOOR(x * 10 + 0.5) on the same doubles)."""
    return math.floor(value * 10 + 0.5)


def passes(quality_score: float) -> bool:
    """A task passes at a quality score of PASS_THRESHOLD or more."""
    return quality_score >= PASS_THRESHOLD


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    return max(low, min(high, value))


def _band(d: float, start: float, end: float, top: float, bottom: float) -> float:
    return top - (d - start) * (top - bottom) / (end - start)


def time_efficiency(duration_seconds: float | None) -> float | None:
    """Speed score 40-100 by duration band; ``None`` when the duration is unknown."""
    if duration_seconds is None:
        return None
    d = float(duration_seconds)
    if d < 120:
        value = 100.0
    elif d <= 600:
        value = _band(d, 120, 600, 99, 80)
    elif d <= 1800:
        value = _band(d, 600, 1800, 79, 60)
    elif d <= 7200:
        value = _band(d, 1800, 7200, 59, 40)
    else:
        value = 40.0
    return round1(value)


def code_quality_component(issues_count: int, given: float | None = None) -> float:
    if given is not None:
        return clamp(float(given))
    return max(50.0, 100.0 - 5.0 * issues_count)


@dataclass(frozen=True)
class Scores:
    quality_score: float
    time_efficiency: float | None
    performance_index: float
    breakdown: dict[str, float | None]
    manual: bool
    given: tuple[str, ...] = ()  # the scores taken as given: quality_score, time_efficiency, ...


def quality_from_components(components: dict[str, float | None]) -> float:
    """Weighted sum; with no known efficiency, drop that term and divide the rest by 0.80."""
    total = math.fsum(
        weight * components[name]
        for name, weight in WEIGHTS.items()
        if components[name] is not None
    )
    if components["efficiency"] is None:
        total /= 1.0 - WEIGHTS["efficiency"]
    return round1(total)


def performance_index(quality_score: float, time_eff: float | None, success: bool) -> float:
    success_term = 100.0 if success else 0.0
    if time_eff is None:
        return round1((0.40 * quality_score + 0.25 * success_term) / 0.65)
    return round1(0.40 * quality_score + 0.35 * time_eff + 0.25 * success_term)


def score_task(
    *,
    success: bool = True,
    issues_count: int = 0,
    code_quality: float | None = None,
    duration_seconds: float | None = None,
    best_practices_followed: bool = True,
    documentation_updated: bool = False,
    explicit_quality: float | None = None,
    given_time_efficiency: float | None = None,
    given_performance_index: float | None = None,
) -> Scores:
    """Every score of one task. A score the source gives is kept as given (``round_given``):
    ``explicit_quality`` (a manual assessment), ``given_time_efficiency`` and
    ``given_performance_index``; the formulas fill only the ones missing, from the others."""
    eff = time_efficiency(duration_seconds)
    if given_time_efficiency is not None:
        eff = round_given(given_time_efficiency)
    components: dict[str, float | None] = {  # keyed as WEIGHTS, kept as the score breakdown
        "task_completion": 100.0 if success else 0.0,
        "code_quality": code_quality_component(issues_count, code_quality),
        "efficiency": eff,
        "best_practices": 100.0 if best_practices_followed else 50.0,
        "documentation": 100.0 if documentation_updated else 50.0,
    }
    if explicit_quality is not None:
        quality = round_given(explicit_quality)
    else:
        quality = quality_from_components(components)
    if given_performance_index is not None:
        index = round_given(given_performance_index)
    else:
        index = performance_index(quality, eff, success)
    given = tuple(
        name
        for name, value in (
            ("quality_score", explicit_quality),
            ("time_efficiency", given_time_efficiency),
            ("performance_index", given_performance_index),
        )
        if value is not None
    )
    return Scores(
        quality_score=quality,
        time_efficiency=eff,
        performance_index=index,
        breakdown=components,
        manual=explicit_quality is not None,
        given=given,
    )


def quality_improvement(quality_score: float, previous_scores: Sequence[float]) -> float | None:
    """Points above the mean of the previous (up to) 10 scores of the same type; None if none."""
    window = list(previous_scores)[:BASELINE_WINDOW]
    if not window:
        return None
    return round1(quality_score - math.fsum(window) / len(window))
