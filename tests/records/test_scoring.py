"""The scoring contract of docs/scoring.md, to the decimal, at every band edge."""

import pytest

from records.rules.scoring import (
    passes,
    performance_index,
    quality_improvement,
    round1,
    score_task,
    time_efficiency,
)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (0, 100.0),
        (119, 100.0),
        (119.99, 100.0),
        (120, 99.0),
        (360, 89.5),  # halfway through 120-600: 99 - 9.5
        (600, 80.0),
        (601, 79.0),  # 79 - 19/1200 = 78.98 -> 79.0
        (1200, 69.5),
        (1800, 60.0),
        (1801, 59.0),
        (4500, 49.5),
        (7200, 40.0),
        (7201, 40.0),
        (100_000, 40.0),
        (None, None),
    ],
)
def test_time_efficiency_bands(duration, expected):
    assert time_efficiency(duration) == expected


def test_quality_with_known_duration_uses_all_five_weights():
    # 0.30*100 + 0.25*100 + 0.20*99 + 0.15*100 + 0.10*50 = 94.8
    assert score_task(duration_seconds=120).quality_score == 94.8


def test_quality_without_duration_drops_efficiency_and_divides_by_080():
    # (30 + 25 + 15 + 5) / 0.8 = 93.75 -> 93.8
    scores = score_task()
    assert scores.quality_score == 93.8
    assert scores.time_efficiency is None
    assert scores.breakdown["efficiency"] is None


def test_failure_issues_and_flags_change_every_component():
    scores = score_task(
        success=False,
        issues_count=3,
        duration_seconds=600,
        best_practices_followed=False,
        documentation_updated=True,
    )
    # 0 + 0.25*85 + 0.20*80 + 0.15*50 + 0.10*100 = 54.75 -> 54.8
    assert scores.breakdown == {
        "task_completion": 0.0,
        "code_quality": 85.0,
        "efficiency": 80.0,
        "best_practices": 50.0,
        "documentation": 100.0,
    }
    assert scores.quality_score == 54.8
    # 0.40*54.8 + 0.35*80 + 0.25*0 = 49.92 -> 49.9
    assert scores.performance_index == 49.9
    assert not passes(scores.quality_score)


def test_code_quality_is_floored_at_50_and_a_given_value_wins():
    assert score_task(issues_count=30).breakdown["code_quality"] == 50.0
    assert score_task(issues_count=30, code_quality=90).breakdown["code_quality"] == 90.0


@pytest.mark.parametrize(
    ("given", "expected"), [(87, 87.0), (150, 100.0), (-5, 0.0), (72.25, 72.25)]
)
def test_explicit_manual_score_wins_and_is_clamped(given, expected):
    scores = score_task(duration_seconds=5000, success=False, explicit_quality=given)
    assert scores.quality_score == expected
    assert scores.manual


def test_performance_index_with_and_without_efficiency():
    assert performance_index(90.0, 80.0, True) == 89.0  # 36 + 28 + 25
    assert performance_index(90.0, None, True) == 93.8  # (36 + 25) / 0.65 = 93.846
    assert performance_index(90.0, None, False) == 55.4  # 36 / 0.65 = 55.38


def test_pass_threshold_is_70():
    assert passes(score_task(explicit_quality=70).quality_score)
    assert not passes(score_task(explicit_quality=69.9).quality_score)


def test_quality_improvement_uses_up_to_ten_previous_scores():
    assert quality_improvement(80.0, []) is None
    assert quality_improvement(80.0, [70.0, 60.0]) == 15.0
    assert quality_improvement(80.0, [70.0] * 10 + [0.0] * 5) == 10.0


def test_round1_rounds_half_up():
    assert round1(91.25) == 91.3
    assert round1(0.05) == 0.1
    assert round1(-1.25) == -1.3
