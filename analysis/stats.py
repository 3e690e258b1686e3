"""Small exact statistics for comparing runs: McNemar's exact test and binomial confidence intervals.

Pure Python (no SciPy): the counts involved are at most a few million, and the exact binomial tail is summed
in log space so it neither overflows nor loses the small p-values that matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class McNemarResult:
    """b = right in A, wrong in B (regressed); c = wrong in A, right in B (fixed)."""

    b: int
    c: int
    p_value: float  # two-sided exact (binomial) p-value; 1.0 when b + c == 0


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
    )


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    logs = [_log_binom_pmf(i, n, p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def mcnemar_exact(b: int, c: int) -> McNemarResult:
    """Exact McNemar test on the discordant pairs: two-sided binomial test of b against Binomial(b + c, 1/2)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative")
    n = b + c
    if n == 0:
        return McNemarResult(b, c, 1.0)
    p = 2.0 * _binom_cdf(min(b, c), n, 0.5)
    return McNemarResult(b, c, min(1.0, p))


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion k/n; (0, 1) when n == 0."""
    _check_counts(k, n)
    if n == 0:
        return Interval(0.0, 1.0)
    z = _normal_quantile(0.5 + confidence / 2)
    phat = k / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact at the edges despite float rounding
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(low, high)


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) interval, found by bisection on the binomial tails."""
    _check_counts(k, n)
    if n == 0:
        return Interval(0.0, 1.0)
    alpha = 1 - confidence
    # low: the p at which P(X >= k) = alpha/2; high: the p at which P(X <= k) = alpha/2.
    low = 0.0 if k == 0 else _bisect(lambda p: 1 - _binom_cdf(k - 1, n, p) - alpha / 2)
    high = 1.0 if k == n else _bisect(lambda p: alpha / 2 - _binom_cdf(k, n, p))
    return Interval(low, high)


def _bisect(f, lo: float = 0.0, hi: float = 1.0, iterations: int = 60) -> float:  # type: ignore[no-untyped-def]
    """Root of an increasing function f on [lo, hi]."""
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def _normal_quantile(q: float) -> float:
    """Inverse of the standard normal CDF (bisection on erf; plenty for interval half-widths)."""
    return _bisect(lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2))) - q, -10.0, 10.0, 80)
