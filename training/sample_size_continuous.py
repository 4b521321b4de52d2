"""Minimum sample size for a continuous-outcome (linear regression) prediction model.

References
----------
Riley RD, Snell KIE, Ensor J, et al. Minimum sample size for developing a multivariable
prediction model: Part I - continuous outcomes. Stat Med 2019;38:1262-1275.
Ensor J, Martin EC, Riley RD. pmsampsize (R package), the reference implementation.
"""

from __future__ import annotations

import math

from scipy.stats import chi2
from scipy.stats import t as student_t

from ssc_response.training.sample_size import RileyResult, ceil_n, smallest_n, with_warning


def _shrinkage_continuous(n: int, n_parameters: int, r2_adj: float) -> float:
    """Expected shrinkage of a linear model at n (Riley 2019 Part I; as in pmsampsize).

    ``S = 1 + (p - 2) / (n ln(1 - R2app))`` with the expected apparent R2
    ``R2app = (R2adj (n - p - 1) + p) / (n - 1)``. NaN when n <= p + 1.
    """
    if n <= n_parameters + 1:
        return float("nan")
    r2_app = (r2_adj * (n - n_parameters - 1) + n_parameters) / (n - 1)
    return 1 + (n_parameters - 2) / (n * math.log(1 - r2_app))


def _residual_sd_mmoe(df: int) -> float:
    # Multiplicative margin of error of the residual SD from its chi-square 95% interval.
    low = df / chi2.ppf(0.025, df)
    high = chi2.ppf(0.975, df) / df
    return float(math.sqrt(max(low, high)))


def _intercept_ok(n: int, p: int, variance: float, mean: float, mmoe: float) -> bool:
    half_width = student_t.ppf(0.975, n - p - 1) * math.sqrt(variance / n)
    return bool(half_width <= (mmoe - 1) * abs(mean))


def riley_continuous_min_n(
    n_parameters: int,
    r2_anticipated: float,
    *,
    shrinkage: float = 0.9,
    r2_difference: float = 0.05,
    mmoe: float = 1.1,
    outcome_mean: float | None = None,
    outcome_sd: float | None = None,
    n_available: int | None = None,
) -> RileyResult:
    """Minimum n for a linear-regression model of a continuous outcome (Riley 2019 Part I).

    Criteria: (1) expected shrinkage >= ``shrinkage``; (2) apparent minus adjusted R2 at
    most ``r2_difference``, ``n = 1 + p (1 - R2adj) / r2_difference``; (3) residual SD
    estimated within multiplicative margin ``mmoe`` (gives ``234 + p`` for 1.1); (4), only
    when ``outcome_mean`` and ``outcome_sd`` are given, mean outcome within ``mmoe``:
    ``t(0.975, n-p-1) * sqrt(sd^2 (1 - R2adj) / n) <= (mmoe - 1) |mean|``. Criteria 1-3
    reproduce pmsampsize's published test values (e.g. p = 25, R2 = 0.2: 918, 401, 259).
    Criterion 4 uses the residual *variance* ``sd^2 (1 - R2)`` of the paper, whereas the
    pmsampsize code puts ``sd (1 - R2)`` under the root, so the two can differ. It is
    ill-posed for outcomes whose mean is near 0 (e.g. a change score): leave it out then.
    """
    if n_parameters < 1 or not 0 < r2_anticipated < 1 or not 0 < shrinkage < 1 or mmoe <= 1:
        raise ValueError(
            "need n_parameters >= 1, 0 < r2_anticipated < 1, 0 < shrinkage < 1, mmoe > 1."
        )
    p, r2 = n_parameters, r2_anticipated
    start = p + 2
    criteria = {
        "shrinkage": smallest_n(lambda n: _shrinkage_continuous(n, p, r2) >= shrinkage, start),
        "optimism": ceil_n(1 + p * (1 - r2) / r2_difference),
        "residual_sd": smallest_n(lambda n: _residual_sd_mmoe(n - p - 1) <= mmoe, start),
    }
    if outcome_mean is not None and outcome_sd is not None:
        variance = outcome_sd**2 * (1 - r2)
        criteria["intercept"] = smallest_n(
            lambda n: _intercept_ok(n, p, variance, outcome_mean, mmoe), start
        )
    n_min = max(criteria.values())
    result = RileyResult(
        outcome="continuous",
        n_parameters=p,
        criteria=criteria,
        n_min=n_min,
        r2=r2,
        r2_source="given",
        shrinkage_target=shrinkage,
        shrinkage_at_n_min=_shrinkage_continuous(n_min, p, r2),
        n_available=n_available,
        shrinkage_at_available=(
            None if n_available is None else _shrinkage_continuous(n_available, p, r2)
        ),
    )
    return with_warning(result)
