"""Minimum sample size for developing a binary-outcome prediction model (Riley et al.).

Shared pieces (:class:`RileyResult`) are also used by :mod:`training.sample_size_continuous`.

References
----------
Riley RD, Snell KIE, Ensor J, et al. Part II - binary and time-to-event outcomes.
Stat Med 2019;38:1276-1296.
Riley RD, Ensor J, Snell KIE, et al. Calculating the sample size required for developing
a clinical prediction model. BMJ 2020;368:m441.
Riley RD, Van Calster B, Collins GS. A note on estimating the Cox-Snell R2 from a reported
C statistic (AUROC) to inform sample size calculations for developing a prediction model
with a binary outcome. Stat Med 2021;40:859-864.
Ensor J, Martin EC, Riley RD. pmsampsize (R package), the reference implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq
from scipy.special import log_expit
from scipy.stats import norm

DEFAULT_NAGELKERKE = 0.15
"""Nagelkerke R2 assumed without prior information (Riley et al. BMJ 2020, conservative)."""


@dataclass(frozen=True)
class RileyResult:
    """Minimum sample size per criterion and overall.

    ``criteria`` maps criterion name to the minimum n it requires; ``n_min`` is their
    maximum. ``r2`` is the anticipated Cox-Snell R2 (binary) or adjusted R2 (continuous),
    with ``r2_source`` saying where it came from. ``warning`` is set when
    ``n_available`` is below ``n_min``.
    """

    outcome: str
    n_parameters: int
    criteria: dict[str, int]
    n_min: int
    r2: float
    r2_source: str
    shrinkage_target: float
    shrinkage_at_n_min: float
    max_r2_cs: float | None = None
    prevalence: float | None = None
    n_available: int | None = None
    shrinkage_at_available: float | None = None
    warning: str | None = None

    @property
    def events_per_parameter(self) -> float | None:
        """Expected events per candidate parameter at ``n_min`` (binary outcomes)."""
        if self.prevalence is None:
            return None
        return self.n_min * self.prevalence / self.n_parameters

    def summary(self) -> pd.DataFrame:
        """One row per criterion plus ``final``, with the n each requires."""
        rows = {**self.criteria, "final": self.n_min}
        return pd.DataFrame({"n_required": pd.Series(rows, dtype="int64")})


def ceil_n(value: float) -> int:
    # Tolerance so 1 + 30 * 0.11 / 0.05 (= 67.00000000000001 in floating point) gives 67.
    return math.ceil(value - 1e-9)


def smallest_n(ok: Callable[[int], bool], start: int) -> int:
    """Smallest integer n >= start with ``ok(n)``, for a predicate monotone in n."""
    high = start
    while not ok(high):
        high *= 2
        if high > 10**9:
            raise ValueError("no sample size below 1e9 satisfies the criterion.")
    low = max(start, high // 2)
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid + 1, high)
    return high


def max_cox_snell_r2(prevalence: float) -> float:
    """Largest achievable Cox-Snell R2: ``1 - exp(2 lnL_null / n)`` (Riley 2019 Part II, eq. 23)."""
    phi = prevalence
    loglik_null_per_patient = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
    return 1 - math.exp(2 * loglik_null_per_patient)


def cox_snell_r2_from_auroc(auroc: float, prevalence: float) -> float:
    """Cox-Snell R2 implied by an AUROC, as in Riley, Van Calster & Collins (2021).

    Assumes a normal linear predictor with unit variance in both outcome groups and mean
    difference ``mu = sqrt(2) * Phi^-1(AUROC)``; the logistic model is then exactly
    calibrated with ``logit = ln(phi/(1-phi)) + mu*x - mu^2/2``. pmsampsize estimates the
    resulting likelihood-ratio R2 from one simulated data set of 1e6 patients; we compute
    its large-sample limit by Gauss-Hermite quadrature, which is deterministic.
    """
    if not 0.5 <= auroc < 1 or not 0 < prevalence < 1:
        raise ValueError(
            f"need 0.5 <= auroc < 1 and 0 < prevalence < 1; got {auroc}, {prevalence}."
        )
    mu = math.sqrt(2) * norm.ppf(auroc)
    nodes, weights = hermegauss(101)
    weights = weights / weights.sum()
    base = math.log(prevalence / (1 - prevalence)) - mu**2 / 2
    loglik_events = np.sum(weights * log_expit(base + mu * (nodes + mu)))
    loglik_non_events = np.sum(weights * log_expit(-(base + mu * nodes)))
    loglik = prevalence * loglik_events + (1 - prevalence) * loglik_non_events
    loglik_null = prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)
    return float(1 - math.exp(2 * (loglik_null - loglik)))


def _n_for_shrinkage(n_parameters: int, r2_cs: float, shrinkage: float) -> float:
    # Riley 2019 Part II eq. 11: n = p / ((S - 1) ln(1 - R2cs / S)).
    return n_parameters / ((shrinkage - 1) * math.log(1 - r2_cs / shrinkage))


def _expected_shrinkage_binary(n: int, n_parameters: int, r2_cs: float) -> float:
    """Solve eq. 11 for S at a given n (Van Houwelingen's heuristic shrinkage)."""

    def excess(s: float) -> float:
        return s - 1 - n_parameters / (n * math.log(1 - r2_cs / s))

    return float(brentq(excess, r2_cs * (1 + 1e-12), 1.0))


def _resolve_r2_cs(
    prevalence: float, r2_cs: float | None, auroc: float | None
) -> tuple[float, str]:
    if r2_cs is not None and auroc is not None:
        raise ValueError("give r2_cs_anticipated or auroc_anticipated, not both.")
    if r2_cs is not None:
        return r2_cs, "given"
    if auroc is not None:
        return cox_snell_r2_from_auroc(auroc, prevalence), f"from AUROC {auroc:g}"
    return DEFAULT_NAGELKERKE * max_cox_snell_r2(prevalence), "default: Nagelkerke R2 = 0.15"


def _shortfall(result: RileyResult, n_available: int) -> str:
    parts = [
        f"n = {n_available} is below the minimum of {result.n_min} "
        f"(Riley et al.) for {result.n_parameters} candidate parameters"
    ]
    if result.shrinkage_at_available is not None and math.isfinite(result.shrinkage_at_available):
        parts.append(
            f"expected shrinkage {result.shrinkage_at_available:.2f} "
            f"(target {result.shrinkage_target:.2f})"
        )
    if result.prevalence is not None:
        events = n_available * result.prevalence
        parts.append(f"~{events:.0f} events ({events / result.n_parameters:.1f} per parameter)")
    return (
        "; ".join(parts) + ". Expect overfitting: use fewer parameters or penalisation, and report "
        "optimism-corrected performance only."
    )


def riley_binary_min_n(
    n_parameters: int,
    prevalence: float,
    r2_cs_anticipated: float | None = None,
    auroc_anticipated: float | None = None,
    shrinkage: float = 0.9,
    margin: float = 0.05,
    *,
    r2_difference: float = 0.05,
    n_available: int | None = None,
) -> RileyResult:
    """Minimum n for a binary-outcome model (Riley 2019 Part II; BMJ 2020).

    Criteria: (i) ``shrinkage`` expected uniform shrinkage, ``n = p / ((S-1) ln(1 - R2cs/S))``;
    (ii) apparent minus adjusted Nagelkerke R2 at most ``r2_difference``, i.e. (i) with
    ``S = R2cs / (R2cs + r2_difference * max R2cs)``; (iii) overall risk within ``margin``,
    ``n = (1.96 / margin)^2 phi (1 - phi)``. Matches pmsampsize (>= 1.1): 24 parameters,
    R2cs 0.288, prevalence 0.174 gives 623, 662, 221, so n = 662.

    R2cs source, in order: ``r2_cs_anticipated`` (use an *adjusted* or externally validated
    value); else from ``auroc_anticipated`` (:func:`cox_snell_r2_from_auroc`); else the
    conservative default of Riley et al. (BMJ 2020), R2cs = 0.15 * max R2cs.
    """
    if n_parameters < 1 or not 0 < prevalence < 1 or not 0 < shrinkage < 1 or margin <= 0:
        raise ValueError(
            "need n_parameters >= 1, 0 < prevalence < 1, 0 < shrinkage < 1, margin > 0."
        )
    r2_cs, source = _resolve_r2_cs(prevalence, r2_cs_anticipated, auroc_anticipated)
    max_r2 = max_cox_snell_r2(prevalence)
    if not 0 < r2_cs < min(max_r2, shrinkage):
        raise ValueError(
            f"R2cs must lie in (0, min(max R2cs = {max_r2:.3f}, shrinkage)); got {r2_cs}."
        )
    s_optimism = r2_cs / (r2_cs + r2_difference * max_r2)
    criteria = {
        "shrinkage": ceil_n(_n_for_shrinkage(n_parameters, r2_cs, shrinkage)),
        "optimism": ceil_n(_n_for_shrinkage(n_parameters, r2_cs, s_optimism)),
        "overall_risk": ceil_n((1.96 / margin) ** 2 * prevalence * (1 - prevalence)),
    }
    n_min = max(criteria.values())
    result = RileyResult(
        outcome="binary",
        n_parameters=n_parameters,
        criteria=criteria,
        n_min=n_min,
        r2=r2_cs,
        r2_source=source,
        shrinkage_target=shrinkage,
        shrinkage_at_n_min=_expected_shrinkage_binary(n_min, n_parameters, r2_cs),
        max_r2_cs=max_r2,
        prevalence=prevalence,
        n_available=n_available,
        shrinkage_at_available=(
            None
            if n_available is None
            else _expected_shrinkage_binary(n_available, n_parameters, r2_cs)
        ),
    )
    return with_warning(result)


def with_warning(result: RileyResult) -> RileyResult:
    """Attach the shortfall message when ``n_available`` is below ``n_min``."""
    if result.n_available is None or result.n_available >= result.n_min:
        return result
    return replace(result, warning=_shortfall(result, result.n_available))
