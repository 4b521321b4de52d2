"""Riley et al. minimum sample size, against pmsampsize's own test values and hand calculation.

Reference values: tests/testthat/test_bin.R and test_cont.R of the pmsampsize R package
(Ensor, Martin & Riley; CRAN), the implementation accompanying Riley et al. Stat Med 2019
and BMJ 2020;368:m441. The binary values are those of pmsampsize >= 1.1, which stopped
rounding max R2cs and the criterion-2 shrinkage (older versions give 668 instead of 662).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t
from sklearn.linear_model import LogisticRegression

from ssc_response.training.sample_size import (
    cox_snell_r2_from_auroc,
    max_cox_snell_r2,
    riley_binary_min_n,
)
from ssc_response.training.sample_size_continuous import riley_continuous_min_n

# parameters, R2cs, prevalence -> criteria 1, 2, 3, final, EPP at final (pmsampsize test_bin.R)
BINARY_CASES = [
    (24, 0.288, 0.174, (623, 662, 221), 662, 4.80),
    (24, 0.55, 0.174, (255, 532, 221), 532, 3.86),
    (36, 0.288, 0.174, (934, 992, 221), 992, 4.79),
    (24, 0.288, 0.25, (623, 590, 289), 623, 6.49),
]


@pytest.mark.parametrize(("p", "r2", "prevalence", "criteria", "final", "epp"), BINARY_CASES)
def test_binary_matches_pmsampsize(
    p: int, r2: float, prevalence: float, criteria: tuple[int, ...], final: int, epp: float
) -> None:
    result = riley_binary_min_n(p, prevalence, r2_cs_anticipated=r2)
    assert tuple(result.criteria.values()) == criteria
    assert result.n_min == final
    assert result.events_per_parameter == pytest.approx(epp, abs=0.005)


def test_binary_worked_example_final_shrinkage() -> None:
    # Criterion 2 drives the example: S = 0.288 / (0.288 + 0.05 * 0.603) = 0.905.
    result = riley_binary_min_n(24, 0.174, r2_cs_anticipated=0.288)
    assert result.max_r2_cs == pytest.approx(0.6032, abs=1e-4)
    assert result.shrinkage_at_n_min == pytest.approx(0.905, abs=0.001)


def test_criterion_three_by_hand() -> None:
    # n = (1.96 / margin)^2 * phi * (1 - phi): 1536.64 * 0.143724 = 220.85 -> 221.
    assert riley_binary_min_n(24, 0.174, 0.288).criteria["overall_risk"] == 221
    # margin 0.1: 384.16 * 0.25 = 96.04 -> 97.
    assert riley_binary_min_n(5, 0.5, 0.2, margin=0.1).criteria["overall_risk"] == 97


def test_criterion_one_by_hand() -> None:
    expected = 10 / ((0.9 - 1) * math.log(1 - 0.1 / 0.9))
    result = riley_binary_min_n(10, 0.3, r2_cs_anticipated=0.1)
    assert result.criteria["shrinkage"] == math.ceil(expected)


def test_max_cox_snell_r2_at_half_prevalence() -> None:
    # lnL_null / n = ln(0.5); max R2cs = 1 - exp(2 ln 0.5) = 0.75.
    assert max_cox_snell_r2(0.5) == pytest.approx(0.75)


def test_default_r2_is_fifteen_percent_of_maximum() -> None:
    result = riley_binary_min_n(10, 0.3)
    assert result.r2 == pytest.approx(0.15 * max_cox_snell_r2(0.3))
    assert result.r2_source.startswith("default")


def test_auroc_of_half_implies_no_explained_variation() -> None:
    assert cox_snell_r2_from_auroc(0.5, 0.3) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("c_stat", "prevalence"), [(0.75, 0.4), (0.85, 0.15)])
def test_auroc_conversion_matches_large_simulation(c_stat: float, prevalence: float) -> None:
    # Riley, Van Calster & Collins (2021) / pmsampsize cstat2rsq: simulate the binormal
    # linear predictor, fit y ~ LP, R2cs = 1 - exp(-LR / n).
    rng = np.random.default_rng(0)
    n = 200_000
    y = (rng.random(n) < prevalence).astype(float)
    lp = rng.normal(size=n) + math.sqrt(2) * norm.ppf(c_stat) * y
    fit = LogisticRegression(C=np.inf, tol=1e-10).fit(lp[:, None], y)
    eta = fit.intercept_[0] + fit.coef_[0, 0] * lp
    loglik = np.sum(y * eta - np.logaddexp(0, eta))
    phi = y.mean()
    loglik_null = n * (phi * math.log(phi) + (1 - phi) * math.log(1 - phi))
    simulated = 1 - math.exp(-2 * (loglik - loglik_null) / n)
    assert cox_snell_r2_from_auroc(c_stat, prevalence) == pytest.approx(simulated, abs=0.005)


def test_auroc_input_is_used_and_labelled() -> None:
    result = riley_binary_min_n(10, 0.4, auroc_anticipated=0.75)
    assert result.r2 == pytest.approx(cox_snell_r2_from_auroc(0.75, 0.4))
    assert "AUROC" in result.r2_source


def test_r2_and_auroc_together_are_ambiguous() -> None:
    with pytest.raises(ValueError, match="not both"):
        riley_binary_min_n(10, 0.4, r2_cs_anticipated=0.1, auroc_anticipated=0.7)


def test_r2_above_maximum_is_rejected() -> None:
    with pytest.raises(ValueError, match="max R2cs"):
        riley_binary_min_n(10, 0.05, r2_cs_anticipated=0.4)  # max R2cs is 0.33 at 5%


def test_warning_when_available_n_is_too_small() -> None:
    result = riley_binary_min_n(10, 0.4, auroc_anticipated=0.75, n_available=60)
    assert result.warning is not None
    assert f"n = 60 is below the minimum of {result.n_min}" in result.warning
    assert result.shrinkage_at_available is not None
    assert result.shrinkage_at_available < 0.9
    assert riley_binary_min_n(10, 0.4, 0.1, n_available=5000).warning is None


def test_summary_lists_criteria_and_final() -> None:
    summary = riley_binary_min_n(24, 0.174, 0.288).summary()
    assert summary["n_required"].to_dict() == {
        "shrinkage": 623,
        "optimism": 662,
        "overall_risk": 221,
        "final": 662,
    }


# parameters, R2adj, shrinkage -> criteria 1, 2, 3 and final (pmsampsize test_cont.R)
CONTINUOUS_CASES = [
    (25, 0.2, 0.9, (918, 401, 259), 918),
    (25, 0.3, 0.9, (574, 351, 259), 574),
    (50, 0.2, 0.9, (1924, 801, 284), 1924),
    (100, 0.5, 0.9, (1264, 1001, 334), 1264),
    (30, 0.89, 0.84, (32, 67, 264), 264),
]


@pytest.mark.parametrize(("p", "r2", "shrinkage", "criteria", "final"), CONTINUOUS_CASES)
def test_continuous_matches_pmsampsize(
    p: int, r2: float, shrinkage: float, criteria: tuple[int, ...], final: int
) -> None:
    result = riley_continuous_min_n(p, r2, shrinkage=shrinkage)
    assert tuple(result.criteria.values()) == criteria
    assert result.n_min == final


def test_continuous_shrinkage_at_final_matches_pmsampsize() -> None:
    assert riley_continuous_min_n(30, 0.89, shrinkage=0.84).shrinkage_at_n_min == pytest.approx(
        0.954, abs=5e-4
    )


@pytest.mark.parametrize("p", [1, 7, 40])
def test_residual_sd_criterion_is_234_plus_p(p: int) -> None:
    assert riley_continuous_min_n(p, 0.3).criteria["residual_sd"] == 234 + p


def test_intercept_criterion_by_hand() -> None:
    p, r2, mean, sd = 5, 0.2, 2.0, 3.0
    n4 = riley_continuous_min_n(p, r2, outcome_mean=mean, outcome_sd=sd).criteria["intercept"]

    def half_width(n: int) -> float:
        return float(student_t.ppf(0.975, n - p - 1) * math.sqrt(sd**2 * (1 - r2) / n))

    assert half_width(n4) <= 0.1 * mean < half_width(n4 - 1)
