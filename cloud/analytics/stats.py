"""The statistics of an A/B report, in closed form (no SciPy at HQ: these few functions are
exact enough and tests/test_abtest.py checks each against SciPy)."""

import math
from collections.abc import Sequence
from typing import Final

# The two-sided 95 % normal quantile, Φ⁻¹(0.975).
Z_95: Final = 1.959963984540054


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike the textbook p ± z·se it stays within
    0…1 and is honest for small n or rates near 0 (coupon conversion often is)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test (None when undefined: an empty
    arm, or no or only conversions in both, when the pooled variance is 0)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (k2 / n2 - k1 / n1) / math.sqrt(variance)
    return min(1.0, 2 * normal_sf(abs(z)))


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X chi-square with `df` degrees of freedom, by the closed forms of the
    regularized upper incomplete gamma function at integer and half-integer orders."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        # Q(k, x/2) = e^(-x/2) Σ_{i<k} (x/2)^i / i!, with k = df/2.
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    # Odd df: 2·Φ(-√x) + 2·φ(√x) Σ_{j=1}^{(df-1)/2} x^(j-1/2) / (1·3·…·(2j-1)).
    root = math.sqrt(x)
    total = 2 * normal_sf(root)
    term = root  # x^(1/2) / 1
    density = math.exp(-half) / math.sqrt(2 * math.pi)
    for j in range(1, (df - 1) // 2 + 1):
        if j > 1:
            term *= x / (2 * j - 1)
        total += 2 * density * term
    return min(1.0, total)


def sample_ratio_mismatch(observed: Sequence[int], shares_pct: Sequence[int]) -> float | None:
    """The p-value of Pearson's chi-square goodness of fit of the arms' sizes to the planned
    split (None with nobody exposed). A tiny p means the assignment or the logging is broken,
    and no other number of the report can be trusted."""
    n = sum(observed)
    if n == 0 or len(observed) < 2:
        return None
    statistic = 0.0
    for seen, share in zip(observed, shares_pct, strict=True):
        expected = n * share / 100
        statistic += (seen - expected) ** 2 / expected
    return chi2_sf(statistic, len(observed) - 1)
