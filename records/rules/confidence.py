"""How sure a figure is: confidence intervals from counts and sums (pure, no database).

Everything here works from what the rollups keep — counts, sums and sums of squares — so an
interval costs the same at a million records as at ten. Methods (docs/statistics.md):

- a rate (pass rate, success rate): the Wilson score interval;
- the difference of two rates: Newcombe's hybrid score interval (his method 10), built from
  the two Wilson intervals — good coverage at small counts and at rates near 0 or 100;
- a mean (quality, performance index, duration, cost) and the difference of two means: Student's
  t with Welch's standard error and Welch-Satterthwaite degrees of freedom.

All intervals are two-sided at ``LEVEL`` (95%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LEVEL = 0.95
Z = 1.959963984540054  # the normal quantile of 0.975
# Below this many tasks on a side a difference is "not enough data", whatever its interval.
MIN_TASKS = 5


@dataclass(frozen=True)
class Sample:
    """A metric over ``n`` records: its mean and (sample) standard deviation."""

    n: int
    mean: float | None
    sd: float | None

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Sample:
        """From the count, the sum and the sum of squares of the values."""
        if n <= 0:
            return cls(0, None, None)
        mean = total / n
        if n == 1:
            return cls(1, mean, None)
        variance = max(0.0, (squares - n * mean * mean) / (n - 1))  # rounding can dip below 0
        return cls(n, mean, math.sqrt(variance))

    def interval(self) -> Interval | None:
        """The mean's confidence interval; None below two values."""
        if self.n < 2 or self.mean is None or self.sd is None:
            return None
        half = t_quantile(self.n - 1) * self.sd / math.sqrt(self.n)
        return Interval(self.mean, self.mean - half, self.mean + half)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly on one side of zero (a clear difference)."""
        return self.low > 0 or self.high < 0

    def scaled(self, factor: float) -> Interval:
        return Interval(self.estimate * factor, self.low * factor, self.high * factor)


def _t_terms(z: float) -> tuple[float, ...]:
    """The Cornish-Fisher terms of ``t_quantile``: t = sum(term / df**k) for k = 0, 1, ..."""
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return (z, g1, g2, g3, g4)


# Also written out in SQL by records.stats.insights (the ranking of thousands of names).
T_TERMS = _t_terms(Z)


def t_quantile(df: float) -> float:
    """Student's t quantile for a two-sided 95% interval with ``df`` degrees of freedom.

    The Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun 26.7.5): off by
    less than 0.3% from 3 degrees of freedom on (2.5% at 1), and exact in the limit.
    """
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    z, g1, g2, g3, g4 = T_TERMS
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def wilson(successes: int, n: int) -> Interval | None:
    """The Wilson score interval of a rate, as fractions in [0, 1]; None without trials."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}")
    p = successes / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def rate_difference(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Interval | None:
    """Rate A minus rate B (fractions) with Newcombe's hybrid score interval (method 10)."""
    a, b = wilson(successes_a, n_a), wilson(successes_b, n_b)
    if a is None or b is None:
        return None
    diff = a.estimate - b.estimate
    low = diff - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = diff + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(diff, low, high)


def mean_difference(a: Sample, b: Sample) -> Interval | None:
    """Mean A minus mean B with Welch's t interval; None when a side has fewer than 2 values."""
    if a.n < 2 or b.n < 2 or a.mean is None or b.mean is None:
        return None
    va, vb = (a.sd or 0.0) ** 2 / a.n, (b.sd or 0.0) ** 2 / b.n
    diff = a.mean - b.mean
    se2 = va + vb
    if se2 == 0:  # every value the same on both sides: the difference is what it is
        return Interval(diff, diff, diff)
    df = se2 * se2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    half = t_quantile(df) * math.sqrt(se2)
    return Interval(diff, diff - half, diff + half)


def rate_lower_bound(successes: int, n: int) -> float:
    """The Wilson interval's lower end (0 without trials): a rate to rank by, so that one
    lucky task does not beat thirty good ones."""
    interval = wilson(successes, n)
    return 0.0 if interval is None else interval.low


def mean_lower_bound(sample: Sample, *, floor: float = 0.0) -> float:
    """The mean's lower confidence bound, ``floor`` when it has none (fewer than 2 values)."""
    interval = sample.interval()
    return floor if interval is None else max(floor, interval.low)


# The spread a ranking assumes at least (points of quality): two tasks that happen to score the
# same have a standard deviation of 0, which would make their mean look certain.
PRIOR_SD = 10.0


def ranking_bound(sample: Sample, *, prior_sd: float = PRIOR_SD) -> float:
    """A mean's lower 95% bound for ranking, with the spread taken as at least ``prior_sd``: one
    task (no spread to measure) ranks at 0, a few lucky ones well below thirty steady ones."""
    if sample.n < 2 or sample.mean is None:
        return 0.0
    sd = max(sample.sd or 0.0, prior_sd)
    return max(0.0, sample.mean - t_quantile(sample.n - 1) * sd / math.sqrt(sample.n))


def clear_difference(interval: Interval | None, n_a: int, n_b: int) -> bool:
    """Whether a difference is worth stating: both sides have MIN_TASKS and the interval
    excludes zero. Otherwise a reader is told "not enough data"."""
    return interval is not None and min(n_a, n_b) >= MIN_TASKS and interval.excludes_zero
