"""Confidence intervals against published reference values and direct computation."""

import math
import random
import statistics

import pytest

from records.rules.confidence import (
    Sample,
    clear_difference,
    mean_difference,
    mean_lower_bound,
    rate_difference,
    rate_lower_bound,
    t_quantile,
    wilson,
)


@pytest.mark.parametrize(
    ("df", "expected"),
    # Student's t, 0.975 quantile (any statistics table).
    [(3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (120, 1.980), (1e9, 1.960)],
)
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(df) == pytest.approx(expected, rel=3e-3)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Newcombe (1998), table I, Wilson score intervals without continuity correction.
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(successes, n, low, high):
    interval = wilson(successes, n)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    # Newcombe (1998), table II, method 10 (hybrid score): 56/70 - 48/80 and 9/10 - 3/10.
    [((56, 70), (48, 80), 0.0524, 0.3339), ((9, 10), (3, 10), 0.1705, 0.8090)],
)
def test_rate_difference_matches_newcombe_method_10(a, b, low, high):
    interval = rate_difference(*a, *b)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)
    assert interval.excludes_zero


def test_sample_of_sums_equals_the_values_statistics():
    rng = random.Random(4)
    values = [rng.gauss(80, 9) for _ in range(57)]
    sample = Sample.of_sums(len(values), sum(values), sum(v * v for v in values))
    assert sample.mean == pytest.approx(statistics.fmean(values))
    assert sample.sd == pytest.approx(statistics.stdev(values))
    interval = sample.interval()
    half = t_quantile(56) * statistics.stdev(values) / math.sqrt(57)
    assert interval.low == pytest.approx(sample.mean - half)


def test_welch_difference_of_means():
    # Welch's example computed by hand: means 20 and 16, sd 4 and 6, n 10 and 12.
    a, b = Sample(10, 20.0, 4.0), Sample(12, 16.0, 6.0)
    va, vb = 16 / 10, 36 / 12
    df = (va + vb) ** 2 / (va**2 / 9 + vb**2 / 11)
    interval = mean_difference(a, b)
    assert interval.estimate == 4.0
    assert interval.high - 4.0 == pytest.approx(t_quantile(df) * math.sqrt(va + vb))
    assert not interval.excludes_zero  # 4 +- 4.4: not a clear difference
    assert not clear_difference(interval, 10, 12)


def test_lower_bounds_rank_many_good_tasks_above_one_lucky_one():
    assert rate_lower_bound(1, 1) < rate_lower_bound(27, 30)
    lucky = Sample.of_sums(1, 100.0, 10_000.0)
    steady = Sample.of_sums(30, 30 * 88.0, 30 * 88.0**2 + 29 * 16)  # mean 88, sd 4
    assert mean_lower_bound(lucky) == 0.0
    assert mean_lower_bound(steady) == pytest.approx(88 - t_quantile(29) * 4 / math.sqrt(30))


def test_thin_or_overlapping_evidence_is_not_a_clear_difference():
    assert clear_difference(rate_difference(40, 50, 20, 50), 50, 50)
    assert not clear_difference(rate_difference(4, 4, 1, 4), 4, 4)  # too few tasks
    assert rate_difference(0, 0, 1, 1) is None  # no trials on one side: no interval
    assert wilson(0, 0) is None
